using System.Globalization;
using System.Text;

namespace ArchDsl.Runtime.Training;

/// <summary>A spec file as it was compiled: its path (as the user gave it) and its text.</summary>
public sealed record SpecSource(string Path, string Text);

/// <summary>
/// How to run training; the training itself (epochs, batch, optimizer, schedule, augmentation, seed, data)
/// comes from the graph's train section, where <c>--set train.key=value</c> already went through the compiler.
/// </summary>
public sealed record TrainOptions
{
    /// <summary>Where run directories are created (<c>runs/&lt;name&gt;-&lt;time&gt;/</c>).</summary>
    public string RunsRoot { get; init; } = "runs";
    /// <summary>The run's name: default the first spec file's name, else the arch's name.</summary>
    public string? RunName { get; init; }
    /// <summary>The spec text(s) compiled (root first), saved as <c>spec.arch</c>.</summary>
    public IReadOnlyList<SpecSource> Specs { get; init; } = [];
    /// <summary>The <c>--set</c> overrides as given, saved as <c>overrides.txt</c>.</summary>
    public IReadOnlyList<string> Overrides { get; init; } = [];
    /// <summary>cpu | cuda | cuda:N; overrides the train key <c>device</c> (default cpu).</summary>
    public string? Device { get; init; }
    /// <summary>libtorch intra-op threads; default all cores (<see cref="Environment.ProcessorCount"/>); a resume keeps the run's.</summary>
    public int? Threads { get; init; }
    /// <summary>Save the <c>last</c> checkpoint every this many optimizer steps as well as at each epoch's end (0: epoch ends only).</summary>
    public int CheckpointEvery { get; init; } = 200;
    /// <summary>Write a step record to <c>metrics.jsonl</c> every this many steps (and at each epoch's last step).</summary>
    public int LogEvery { get; init; } = 50;
    /// <summary>Batch size for evaluation (default the larger of the training batch and 256).</summary>
    public int? EvalBatch { get; init; }
    /// <summary>
    /// Start from another run's weights: a run directory (its best checkpoint when chosen on a validation split, else
    /// its last) or a checkpoint file; tensors of the same name and shape are loaded (<see cref="InitialWeights"/>).
    /// </summary>
    public string? Init { get; init; }
    public IProgressSink? Progress { get; init; }
    /// <summary>Catch SIGINT (Ctrl-C) and SIGTERM: save a checkpoint and return <see cref="TrainOutcome.Interrupted"/>. A second signal is not caught.</summary>
    public bool HandleSignals { get; init; } = true;
    /// <summary>Cancelling stops the run like a signal (checkpoint, then <see cref="TrainOutcome.Interrupted"/>).</summary>
    public CancellationToken Cancellation { get; init; }
    /// <summary>This worker's place in a data-parallel run (null or world size 1: one process); see Runtime/Engine/Distributed.</summary>
    public Distributed.DistributedOptions? Distributed { get; init; }
    /// <summary>Test seam (<see cref="LossScalingProbe"/>); null in every real run.</summary>
    internal LossScalingProbe? ScalingProbe { get; init; }
}

/// <summary>
/// Test seam: drives amp: fp16's loss-scaling step on the CPU, where float16 cannot run. The run uses
/// <see cref="Scaler"/>'s loss scaler as an fp16 run uses its GradScaler (float32 arithmetic), and each step's loss is
/// multiplied by <see cref="LossFactor"/>(0-based step) before scaling — infinity or NaN there force the overflow a
/// float16 forward can produce (its gradients are then inf/NaN too).
/// </summary>
internal sealed record LossScalingProbe(Func<ArchDsl.Torch.GradScaler> Scaler, Func<long, float> LossFactor);

public enum TrainOutcome { Completed, Interrupted }

/// <summary>The outcome of <see cref="Trainer.Train"/> / <see cref="Trainer.Resume"/>. Accuracies are fractions in [0, 1].</summary>
public sealed record TrainResult(
    string RunDir, TrainOutcome Outcome, string Arch, int Epochs, int EpochsDone, long Steps,
    double? TrainLoss, double? TrainAccuracy, string? EvalSet, double? EvalLoss, double? EvalAccuracy,
    double? TestLoss, double? TestAccuracy, double? BestAccuracy, int? BestEpoch,
    TimeSpan TrainTime, TimeSpan WallTime, double ImagesPerSecond, long Parameters, string LastCheckpoint, string? Signal)
{
    public string Describe()
    {
        static string Pct(double? v) => v is double d && !double.IsNaN(d) ? (100 * d).ToString("0.00", CultureInfo.InvariantCulture) + "%" : "-";
        var sb = new StringBuilder();
        if (Outcome == TrainOutcome.Interrupted)
            sb.Append($"interrupted{(Signal is null ? "" : $" by {Signal}")} at epoch {Math.Min(EpochsDone + 1, Epochs)}/{Epochs}, step {Steps}; checkpoint saved: {LastCheckpoint}\n" +
                      $"continue with: archc train --resume {RunDir}");
        else
        {
            sb.Append($"{Arch}: {Epochs} epoch(s), {Throughput.Count(Steps)} steps in {Throughput.Format(TrainTime)} ({Throughput.Count(ImagesPerSecond)} images/s)");
            if (TestAccuracy is not null) sb.Append($"; test accuracy {Pct(TestAccuracy)}, loss {TestLoss?.ToString("0.0000", CultureInfo.InvariantCulture)}");
            else if (EvalAccuracy is not null) sb.Append($"; {EvalSet} accuracy {Pct(EvalAccuracy)}");
            if (BestAccuracy is not null) sb.Append($"; best {EvalSet} accuracy {Pct(BestAccuracy)} (epoch {BestEpoch})");
            sb.Append($"\nrun: {RunDir}");
        }
        return sb.ToString();
    }
}
