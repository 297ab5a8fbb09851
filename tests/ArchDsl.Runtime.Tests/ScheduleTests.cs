using System.Diagnostics;
using System.Text.Json;
using ArchDsl.Compiler;
using ArchDsl.Runtime.Training;

namespace ArchDsl.Runtime.Tests;

public class ScheduleTests
{
    private static void Close(double expected, double actual, double rel = 1e-9, string? what = null)
    {
        double tol = rel * Math.Max(Math.Abs(expected), 1e-300);
        Assert.True(Math.Abs(expected - actual) <= tol, $"{what}: expected {expected:R}, got {actual:R}");
    }

    [Fact]
    public void Constant_is_constant()
    {
        var s = new ConstantSchedule(0.01);
        Assert.All(new long[] { 0, 1, 1000 }, t => Assert.Equal(0.01, s.LearningRate(t)));
        Assert.Null(((ILrSchedule)s).Momentum(3));
    }

    [Fact]
    public void Warmup_cosine_rises_linearly_then_follows_the_cosine_to_min()
    {
        var s = new WarmupCosineSchedule(baseLr: 0.1, totalSteps: 110, warmupSteps: 10, minLr: 0.001);
        for (int t = 0; t < 10; t++) Close(0.1 * (t + 1) / 10, s.LearningRate(t), what: $"warm-up step {t}");
        Close(0.1, s.LearningRate(10));
        for (int t = 10; t <= 110; t++)
            Close(0.001 + 0.099 * (1 + Math.Cos(Math.PI * (t - 10) / 100.0)) / 2, s.LearningRate(t), what: $"step {t}");
        Close(0.001 + 0.099 / 2, s.LearningRate(60)); // half-way: the mean of base and min
        Close(0.001, s.LearningRate(110));
        Close(0.001, s.LearningRate(500));
        // monotone non-increasing after warm-up
        for (int t = 11; t < 110; t++) Assert.True(s.LearningRate(t) <= s.LearningRate(t - 1));
        // no warm-up: starts at base
        Close(0.1, new WarmupCosineSchedule(0.1, 50).LearningRate(0));
    }

    [Fact]
    public void One_cycle_follows_the_pytorch_formulas()
    {
        var s = new OneCycleSchedule(maxLr: 0.01, totalSteps: 100);
        Assert.Equal(0.01 / 25, s.InitialLr);
        Assert.Equal(0.01 / 25 / 1e4, s.MinLr);
        double end1 = 0.3 * 100 - 1; // 29
        for (int t = 0; t <= 100; t++)
        {
            double lr, mom;
            if (t <= end1)
            {
                double pct = t / end1;
                lr = s.MaxLr + (s.InitialLr - s.MaxLr) / 2 * (Math.Cos(Math.PI * pct) + 1);
                mom = 0.85 + (0.95 - 0.85) / 2 * (Math.Cos(Math.PI * pct) + 1);
            }
            else
            {
                double pct = (t - end1) / (99 - end1);
                lr = s.MinLr + (s.MaxLr - s.MinLr) / 2 * (Math.Cos(Math.PI * pct) + 1);
                mom = 0.95 + (0.85 - 0.95) / 2 * (Math.Cos(Math.PI * pct) + 1);
            }
            Close(lr, s.LearningRate(t), what: $"lr step {t}");
            Close(mom, s.Momentum(t)!.Value, what: $"momentum step {t}");
        }
        Close(0.01, s.LearningRate(29));
        Close(s.MinLr, s.LearningRate(99));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.LearningRate(101)); // as PyTorch: past the end is an error
    }

    [Fact]
    public void One_cycle_matches_pytorch_1_13_at_every_step()
    {
        // Fixtures/ScheduleOneCycle.torch.json: torch.optim.lr_scheduler.OneCycleLR's lr and beta1 after
        // each scheduler.step(), written by ScheduleOneCycle.gen.py with Debian's python3-torch.
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(DataTestFiles.FixturesDir(), "ScheduleOneCycle.torch.json")));
        int cases = 0;
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var s = FromConfig(c.GetProperty("config"));
            string name = c.GetProperty("config").GetProperty("name").GetString()!;
            var lrs = c.GetProperty("lr").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var moms = c.GetProperty("momentum").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Assert.Equal(s.TotalSteps + 1, lrs.Length);
            for (int t = 0; t < lrs.Length; t++)
            {
                Close(lrs[t], s.LearningRate(t), what: $"{name} lr step {t}");
                Close(moms[t], s.Momentum(t)!.Value, what: $"{name} momentum step {t}");
            }
            cases++;
        }
        Assert.Equal(5, cases);
    }

    private static OneCycleSchedule FromConfig(JsonElement cfg)
    {
        double D(string k, double d) => cfg.TryGetProperty(k, out var v) ? v.GetDouble() : d;
        return new OneCycleSchedule(
            cfg.GetProperty("max_lr").GetDouble(), cfg.GetProperty("total_steps").GetInt64(), D("pct_start", 0.3),
            cfg.TryGetProperty("anneal_strategy", out var a) && a.GetString() == "linear" ? AnnealStrategy.Linear : AnnealStrategy.Cos,
            D("div_factor", 25), D("final_div_factor", 1e4), cfg.TryGetProperty("three_phase", out var tp) && tp.GetBoolean(),
            D("base_momentum", 0.85), D("max_momentum", 0.95));
    }

    [Fact]
    public void One_cycle_matches_live_pytorch()
    {
        // Regenerates the reference with Debian's python3-torch for a configuration not in the fixture,
        // so the fixture's provenance is checked too.
        var python = TestSupport.Tools.Require(TestSupport.Tools.Python, "python3-torch");
        const string script = """
            import torch, warnings, json
            warnings.filterwarnings("ignore")
            p = torch.nn.Parameter(torch.zeros(1)); o = torch.optim.SGD([p], lr=0.1, momentum=0.9)
            s = torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.2, total_steps=23, pct_start=0.4, div_factor=7.0, final_div_factor=33.0)
            out = []
            for i in range(24):
                out.append([o.param_groups[0]["lr"], o.param_groups[0]["momentum"]])
                if i < 23: o.step(); s.step()
            print(json.dumps(out))
            """;
        var (code, stdout, stderr) = TestSupport.ChildProcess.Run(new ProcessStartInfo(python, new[] { "-c", script }));
        Assert.True(code == 0, $"python3 failed ({code}; without torch: `apt-get install python3-torch`):\n{stderr}");
        var expected = JsonSerializer.Deserialize<double[][]>(stdout)!;
        var s = new OneCycleSchedule(0.2, 23, pctStart: 0.4, divFactor: 7, finalDivFactor: 33);
        for (int t = 0; t < expected.Length; t++)
        {
            Close(expected[t][0], s.LearningRate(t), what: $"lr step {t}");
            Close(expected[t][1], s.Momentum(t)!.Value, what: $"momentum step {t}");
        }
    }

    [Fact]
    public void One_cycle_refuses_a_first_step_in_an_empty_phase_as_pytorch_does()
    {
        // pct_start·T − 1 = 0: PyTorch's constructor divides by zero at step 0.
        Assert.Throws<ArgumentException>(() => new OneCycleSchedule(0.1, 10, pctStart: 0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycleSchedule(0.1, 0));
    }

    [Fact]
    public void Schedules_are_built_from_the_train_section_value()
    {
        Assert.IsType<ConstantSchedule>(Schedules.From(new ConstantScheduleConfig(), 0.01, 100));

        var oc = Assert.IsType<OneCycleSchedule>(Schedules.FromTrain(Train(("epochs", 1L), ("optimizer", Call("adamw", ("lr", 0.01))), ("schedule", Call("onecycle"))), 100));
        Assert.Equal((0.01, 100L, 0.3, 25.0, 1e4), (oc.MaxLr, oc.TotalSteps, oc.PctStart, oc.DivFactor, oc.FinalDivFactor)); // PyTorch's defaults, from the compiler's table

        var oc2 = Assert.IsType<OneCycleSchedule>(Schedules.From(new OneCycleScheduleConfig(0.05, 0.25, "linear", 25, 1e4, true, 0.85, 0.95), 0.01, 40));
        Assert.Equal((0.05, 0.25, AnnealStrategy.Linear, true), (oc2.MaxLr, oc2.PctStart, oc2.Anneal, oc2.ThreePhase));

        var cos = Assert.IsType<WarmupCosineSchedule>(Schedules.From(new CosineScheduleConfig(null, 2, 1e-5), 0.001, totalSteps: 1000, stepsPerEpoch: 50));
        Assert.Equal((100L, 1e-5, 0.001), (cos.WarmupSteps, cos.MinLr, cos.BaseLr));
    }

    private static TrainConfig Train(params (string Key, object Value)[] values) => new(values.ToDictionary(v => v.Key, v => v.Value));
    private static TrainCall Call(string name, params (string Key, object Value)[] args) => new(name, args.ToDictionary(a => a.Key, a => a.Value));

    [Fact]
    public void The_whole_train_section_sets_total_steps_lr_and_warmup()
    {
        var adam = Call("adamw", ("lr", 0.002), ("weight_decay", 0.01));
        // onecycle over epochs × steps/epoch, max lr from the optimizer
        var oc = Assert.IsType<OneCycleSchedule>(Schedules.FromTrain(Train(("epochs", 5L), ("optimizer", adam), ("schedule", Call("onecycle")), ("warmup", 0L)), 100));
        Assert.Equal((500L, 0.002), (oc.TotalSteps, oc.MaxLr));
        Assert.Throws<ArgumentException>(() => Schedules.FromTrain(Train(("epochs", 5L), ("schedule", Call("onecycle")), ("warmup", 1L)), 100));

        // cosine takes the top-level warmup (epochs) unless it has its own
        var cos = Assert.IsType<WarmupCosineSchedule>(Schedules.FromTrain(Train(("epochs", 4L), ("optimizer", adam), ("schedule", Call("cosine")), ("warmup", 1L)), 50));
        Assert.Equal((200L, 50L, 0.002), (cos.TotalSteps, cos.WarmupSteps, cos.BaseLr));
        var own = Assert.IsType<WarmupCosineSchedule>(Schedules.FromTrain(Train(("epochs", 4L), ("schedule", Call("cosine", ("warmup", 7L))), ("warmup", 1L)), 50));
        Assert.Equal(7L, own.WarmupSteps);
        // a fraction of all steps
        var frac = Assert.IsType<WarmupCosineSchedule>(Schedules.FromTrain(Train(("epochs", 4L), ("schedule", Call("cosine")), ("warmup", 0.1)), 50));
        Assert.Equal(20L, frac.WarmupSteps);

        // constant with warm-up ramps, then holds the optimizer's lr
        var constant = Schedules.FromTrain(Train(("epochs", 2L), ("optimizer", adam), ("schedule", Call("constant")), ("warmup", 1L)), 10);
        Close(0.002 * 1 / 10, constant.LearningRate(0));
        Close(0.002, constant.LearningRate(9));
        Close(0.002, constant.LearningRate(15));
        Assert.IsType<ConstantSchedule>(Schedules.FromTrain(Train(("epochs", 2L)), 10));
    }

    [Fact]
    public void A_one_cycle_with_an_empty_phase_is_refused_before_any_step_in_the_words_check_uses()
    {
        var e = Assert.Throws<ArgumentException>(() => new OneCycleSchedule(0.01, 4, pctStart: 0.25));
        Assert.Equal(OneCyclePhases.Describe(4, 0.25, false, 0) + "; use more steps or another pct_start", e.Message);
        var ok = new OneCycleSchedule(0.01, 8, pctStart: 0.25);   // phase 1 ends at step 1
        Assert.Equal(0.01, ok.LearningRate(1), 12);
    }
}
