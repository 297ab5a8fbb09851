using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using ArchDsl.Cli;
using static ArchDsl.Cli.Tests.CliHarness;

namespace ArchDsl.Cli.Tests;

/// <summary>
/// A real run's checkpoint, damaged the ways files get damaged or edited — header bytes, shapes, dtypes,
/// offsets, missing and extra tensors, truncation, the training state's fields — and handed to
/// <c>archc eval</c> and <c>archc train --resume</c>: each must end with exit 0, or exit 1 and an
/// <c>archc: error:</c> message; an exception escaping <see cref="Cli.Run"/> (a stack trace, exit 134 in a shell) fails the test.
/// </summary>
public sealed class CheckpointCorruptionTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("archc-corrupt-").FullName;
    readonly string _run;
    readonly byte[] _last;

    public CheckpointCorruptionTests()
    {
        var spec = Path.Combine(_dir, "tiny.arch");
        File.WriteAllText(spec, AblationCommandTests.TinySpec);
        var (code, stdout, stderr) = Run("train", spec, "--runs", Path.Combine(_dir, "runs"), "--epochs", "2", "--checkpoint-every", "0");
        Assert.True(code == ExitCodes.Ok, stdout + stderr);
        _run = Directory.GetDirectories(Path.Combine(_dir, "runs")).Single();
        _last = File.ReadAllBytes(LastOf(_run));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static string LastOf(string run) => Path.Combine(run, "checkpoints", "last.safetensors");

    /// <summary>eval (the last checkpoint) and resume (of a copy of the run, made unfinished) on <paramref name="bytes"/>; both exit 0 or 1 with a message.</summary>
    void EvalAndResumeExitCleanly(byte[] bytes, string what, Action<JsonObject>? editRunJson = null)
    {
        File.WriteAllBytes(LastOf(_run), bytes);
        AssertClean(Run("eval", _run, "--checkpoint", "last"), "eval", what);

        var copy = Path.Combine(_dir, "resume-" + Guid.NewGuid().ToString("N")[..8]);
        CopyDirectory(_run, copy);
        File.Delete(Path.Combine(copy, "summary.yaml"));
        if (editRunJson is not null)
        {
            var runJson = JsonNode.Parse(File.ReadAllText(Path.Combine(copy, "run.json")))!.AsObject();
            editRunJson(runJson);
            File.WriteAllText(Path.Combine(copy, "run.json"), runJson.ToJsonString());
        }
        AssertClean(Run("train", "--resume", copy), "train --resume", what);
        Directory.Delete(copy, recursive: true);
    }

    static void AssertClean((int Code, string Out, string Err) r, string command, string what)
    {
        Assert.True(r.Code is ExitCodes.Ok or ExitCodes.SpecErrors, $"{command} after {what}: exit {r.Code}\n{r.Err}");
        if (r.Code == ExitCodes.SpecErrors) Assert.StartsWith("archc: error: ", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.DoesNotContain("Exception", r.Err);
    }

    static void CopyDirectory(string from, string to)
    {
        foreach (var d in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(d.Replace(from, to));
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from, "*", SearchOption.AllDirectories)) File.Copy(f, f.Replace(from, to));
    }

    // ---- the file's parts ------------------------------------------------------------------------------

    internal static (JsonObject Header, byte[] Data) Split(byte[] file)
    {
        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        return (JsonNode.Parse(Encoding.UTF8.GetString(file, 8, n))!.AsObject(), file[(8 + n)..]);
    }

    internal static byte[] Join(JsonObject header, byte[] data)
    {
        var h = Encoding.UTF8.GetBytes(header.ToJsonString());
        var file = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)h.Length);
        h.CopyTo(file, 8);
        data.CopyTo(file, 8 + h.Length);
        return file;
    }

    static JsonObject State(JsonObject header) => JsonNode.Parse(header["__metadata__"]!["archdsl.state"]!.GetValue<string>())!.AsObject();

    static byte[] WithState(byte[] file, Action<JsonObject> edit)
    {
        var (header, data) = Split(file);
        var state = State(header);
        edit(state);
        header["__metadata__"]!["archdsl.state"] = state.ToJsonString();
        return Join(header, data);
    }

    /// <summary>The file moved back to a consistent position inside the run: epoch 2, batch 2 of 4, step 6 (optimizer step counters too).</summary>
    static byte[] MidRun(byte[] file)
    {
        var (header, data) = Split(WithState(file, s => (s["epoch"], s["batch"], s["step"]) = (1, 2, 6)));
        foreach (var (name, entry) in header.Where(kv => kv.Key.EndsWith(".step", StringComparison.Ordinal)))
            BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan((int)entry!["data_offsets"]![0]!.GetValue<long>()), 6);
        return Join(header, data);
    }

    static readonly JsonNode?[] OddValues =
        [-5, -1, 0, 1, 2, 3, 4, 5, 99, 1_000_000_000_000L, long.MaxValue, 0.5, -0.0, 1e308, "x", null, true, new JsonArray(), new JsonArray(1.0, 2.0), new JsonArray(0.0)];

    static readonly string[] StateFields =
        ["epoch", "batch", "step", "batches_per_epoch", "seed", "metrics_records", "epoch_loss_sum", "epoch_correct", "epoch_samples",
         "best_accuracy", "best_epoch", "train_seconds", "data_seconds", "train_images", "normalization_mean", "normalization_std",
         "optimizer", "parameters", "arch", "format"];

    static readonly JsonNode[] OddShapes =
        [new JsonArray(4, 4611686018427387905L), new JsonArray(-2, -2), new JsonArray(), new JsonArray(0), new JsonArray(1, 1, 1, 1, 1, 1, 1, 1), new JsonArray(2, 4), new JsonArray(8)];

    static readonly string[] OddDtypes = ["F16", "F64", "I64", "I32", "U8", "BOOL", "BF16", "U32", "F8_E4M3", "f32", ""];

    /// <summary>One damage of the kind <paramref name="kind"/>, drawn by <paramref name="random"/>: the bytes and what was done.</summary>
    static (byte[] Bytes, string What) Damage(byte[] file, int kind, Random random)
    {
        var (header, data) = Split(file);
        var names = header.Select(kv => kv.Key).Where(k => k != "__metadata__").ToList();
        var name = names[random.Next(names.Count)];
        var entry = header[name]!.AsObject();
        switch (kind)
        {
            case 0:
            {
                var copy = (byte[])file.Clone();
                var n = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
                var at = random.Next(n);
                copy[at] = random.Next(2) == 0 ? (byte)random.Next(256) : (byte)"0123456789-[]{},:\"."[random.Next(19)];
                return (copy, $"header byte {at} set to {copy[at]}");
            }
            case 1:
            {
                // Half the time a shape whose product has the tensor's own element count in 64-bit arithmetic:
                // negative dims, or a dim of 2^62 + 1 that wraps (numel × (2^62 + 1) = numel mod 2^64 for numel % 4 = 0).
                var numel = entry["shape"]!.AsArray().Aggregate(1L, (a, d) => a * d!.GetValue<long>());
                entry["shape"] = random.Next(4) switch
                {
                    0 => new JsonArray(-numel, -1),
                    1 when numel % 4 == 0 => new JsonArray(numel / 4, 4, 4611686018427387905L),
                    _ => OddShapes[random.Next(OddShapes.Length)].DeepClone(),
                };
                return (Join(header, data), $"{name} shape {entry["shape"]!.ToJsonString()}");
            }
            case 2:
                entry["dtype"] = OddDtypes[random.Next(OddDtypes.Length)];
                return (Join(header, data), $"{name} dtype {entry["dtype"]}");
            case 3:
            {
                var offsets = entry["data_offsets"]!.AsArray();
                var i = random.Next(2);
                offsets[i] = offsets[i]!.GetValue<long>() + random.Next(-9, 10);
                return (Join(header, data), $"{name} data_offsets {offsets.ToJsonString()}");
            }
            case 4:
            {
                // The tensor gone, header and data alike (a coherent file lacking it).
                var (begin, end) = (entry["data_offsets"]![0]!.GetValue<long>(), entry["data_offsets"]![1]!.GetValue<long>());
                header.Remove(name);
                foreach (var other in names.Where(o => o != name))
                {
                    var offs = header[other]!["data_offsets"]!.AsArray();
                    if (offs[0]!.GetValue<long>() >= end) { offs[0] = offs[0]!.GetValue<long>() - (end - begin); offs[1] = offs[1]!.GetValue<long>() - (end - begin); }
                }
                return (Join(header, [.. data[..(int)begin], .. data[(int)end..]]), $"{name} removed");
            }
            case 5:
            {
                var extra = random.Next(2) == 0 ? "model.extra.weight" : name + ".extra";
                header[extra] = new JsonObject { ["dtype"] = "F32", ["shape"] = new JsonArray(2), ["data_offsets"] = new JsonArray(data.Length, data.Length + 8) };
                return (Join(header, [.. data, .. new byte[8]]), $"extra tensor {extra}");
            }
            case 6:
            {
                var length = random.Next(file.Length);
                return (file[..length], $"truncated to {length} bytes");
            }
            case 7:
            {
                var field = StateFields[random.Next(2) == 0 ? random.Next(4) : random.Next(StateFields.Length)];   // the position often
                var value = OddValues[random.Next(OddValues.Length)]?.DeepClone();
                return (WithState(file, s => s[field] = value), $"state {field} = {value?.ToJsonString() ?? "null"}");
            }
            default:
            {
                var meta = header["__metadata__"]!.AsObject();
                var key = random.Next(3) switch { 0 => "archdsl.state", 1 => "archdsl.format", _ => "archdsl.arch" };
                if (random.Next(2) == 0) meta.Remove(key); else meta[key] = "{\"epoch\": ";
                return (Join(header, data), $"metadata {key} removed or broken");
            }
        }
    }

    /// <summary>
    /// A fixed set of seeded cases, 8 of each of the 9 kinds of damage: the same cases on every machine, so a failure
    /// reproduces (a time budget with a minimum count made the cases tried depend on the machine, and failed under load).
    /// </summary>
    [Fact]
    public void Damaged_checkpoints_end_eval_and_resume_with_exit_0_or_1_and_a_message_never_a_crash()
    {
        for (int seed = 0; seed < 72; seed++)
        {
            var random = new Random(seed);
            // Half the cases start from a consistent mid-run position (epoch 2, batch 2 of 4), so resume trains and evaluates.
            var start = random.Next(2) == 0 ? _last : MidRun(_last);
            var (bytes, what) = Damage(start, seed % 9, random);
            Action<JsonObject>? runJson = null;
            if (random.Next(4) == 0)
            {
                // Or an intact checkpoint with run.json's intervals, batch, threads or device edited.
                var field = new[] { "log_every", "checkpoint_every", "eval_batch", "threads", "device" }[random.Next(5)];
                JsonNode? value = field == "device" ? new[] { "cpu", "cuda:7", "tpu", "" }[random.Next(4)] : random.Next(-2, 2);
                runJson = j => j[field] = value;
                (bytes, what) = (start, $"run.json {field} = {value?.ToJsonString()}");
            }
            EvalAndResumeExitCleanly(bytes, $"seed {seed}: {what}", runJson);
        }
    }

    [Fact]
    public void Eval_of_a_run_without_a_validation_split_defaults_to_the_last_weights_and_refuses_best()
    {
        var (code, stdout, stderr) = Run("eval", _run);
        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Contains("last.safetensors (epoch 2, step 8)", stdout);
        Assert.Contains("selection:\n  on: none", File.ReadAllText(Path.Combine(_run, "summary.yaml")));
        var best = Run("eval", _run, "--checkpoint", "best");
        Assert.Equal(ExitCodes.SpecErrors, best.Code);
        Assert.Contains("chose no best weights (it has no validation split, train key val_split); use --checkpoint last", best.Err);
    }

    [Fact]
    public void The_mid_run_position_the_damage_starts_from_is_itself_consistent_and_resumes()
    {
        File.WriteAllBytes(LastOf(_run), MidRun(_last));
        var copy = Path.Combine(_dir, "resume");
        CopyDirectory(_run, copy);
        File.Delete(Path.Combine(copy, "summary.yaml"));
        var (code, stdout, stderr) = Run("train", "--resume", copy);
        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Contains("epoch 2/2", stdout);
        Assert.True(File.Exists(Path.Combine(copy, "summary.yaml")));
    }

    [Theory]
    [InlineData("log_every", 0)]
    [InlineData("checkpoint_every", -1)]
    [InlineData("eval_batch", 0)]
    [InlineData("threads", 0)]
    public void An_edited_run_json_is_refused_by_resume_before_training(string field, int value)
    {
        File.WriteAllBytes(LastOf(_run), MidRun(_last));
        var copy = Path.Combine(_dir, "resume");
        CopyDirectory(_run, copy);
        File.Delete(Path.Combine(copy, "summary.yaml"));
        var runJson = JsonNode.Parse(File.ReadAllText(Path.Combine(copy, "run.json")))!.AsObject();
        runJson[field] = value;
        File.WriteAllText(Path.Combine(copy, "run.json"), runJson.ToJsonString());
        var (code, _, stderr) = Run("train", "--resume", copy);
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Contains($"{field} {value}", stderr);
        Assert.Contains("log_every must be ≥ 1, checkpoint_every ≥ 0, eval_batch and threads null or ≥ 1", stderr);
    }

    /// <summary>The cases of issue 9, each with the message it must give.</summary>
    [Theory]
    [InlineData("shape", "[4,4611686018427387905]", "has more bytes than a 64-bit count holds")]
    [InlineData("shape", "[-2,-2]", "shape holds -2, not a non-negative integer")]
    [InlineData("step", "1000", "step 1000 does not match epoch 2, batch 0 of 4-batch epochs (that is step 8)")]
    [InlineData("epoch", "3", "epoch 3 is outside the run's 0..2")]
    [InlineData("step", "-5", "step -5 does not match")]
    [InlineData("batch", "-1", "batch -1 is outside an epoch's 0..4")]
    [InlineData("epoch", "-1", "epoch -1 is outside the run's 0..2")]
    [InlineData("batch", "99", "batch 99 is outside an epoch's 0..4")]
    public void The_reported_damage_is_refused_by_eval_and_resume_with_its_cause(string field, string value, string message)
    {
        byte[] bytes;
        if (field == "shape")
        {
            var (header, data) = Split(_last);
            header["model.head.1.weight"]!["shape"] = JsonNode.Parse(value);
            bytes = Join(header, data);
        }
        else
        {
            bytes = WithState(_last, s => s[field] = JsonNode.Parse(value));
        }
        File.WriteAllBytes(LastOf(_run), bytes);
        var eval = Run("eval", _run, "--checkpoint", "last");
        Assert.Equal(ExitCodes.SpecErrors, eval.Code);
        Assert.Contains(message, eval.Err);

        var copy = Path.Combine(_dir, "resume");
        CopyDirectory(_run, copy);
        File.Delete(Path.Combine(copy, "summary.yaml"));
        var resume = Run("train", "--resume", copy);
        Assert.Equal(ExitCodes.SpecErrors, resume.Code);
        Assert.StartsWith("archc: error: ", resume.Err);
        Assert.Contains(message, resume.Err);
    }
}
