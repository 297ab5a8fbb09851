using System.Globalization;
using System.Text.RegularExpressions;
using ArchDsl.Compiler.Analysis;
using ArchDsl.Runtime.Training;

namespace ArchDsl.Runtime.Distributed;

/// <summary>
/// How many data-parallel processes a run directory's run used — its last start or resume's (<see cref="RunInfo.WorldSizes"/>) —
/// and the per-rank batch that makes of the global <see cref="Batch"/>; for <c>archc diff</c> and <c>archc report</c>.
/// </summary>
public sealed partial record RunWorld(int WorldSize, int Batch)
{
    /// <summary>Each rank's share of the global batch: <c>16</c>, or <c>11/11/10</c> when they differ (<see cref="DataParallel.Shard(int,int,int)"/>).</summary>
    public string PerRankBatch => PerRank(Batch, WorldSize);

    /// <summary>The per-rank batch of a global <paramref name="batch"/> split between <paramref name="world"/> ranks (see <see cref="PerRankBatch"/>).</summary>
    public static string PerRank(int batch, int world)
    {
        var counts = Enumerable.Range(0, world).Select(r => DataParallel.Shard(batch, r, world).Count).ToArray();
        if (counts.Distinct().Count() == 1) return counts[0].ToString(CultureInfo.InvariantCulture);
        return world <= 8 ? string.Join("/", counts) : $"{counts.Min()}–{counts.Max()}";
    }

    /// <summary>
    /// <paramref name="runDir"/>'s world: run.json's last world size; for a run made before run.json recorded it,
    /// summary.yaml's <c>world_size</c>, else 1 (such runs ran in one process unless summary.yaml says otherwise).
    /// </summary>
    /// <exception cref="TrainingException">not a run directory, or run.json unreadable.</exception>
    public static RunWorld Read(string runDir, Compiler.IrGraph graph)
    {
        var info = RunDirectory.ReadRunInfo(runDir);
        int world = info.WorldSizes.Length > 0 ? info.WorldSizes[^1] : SummaryWorldSize(runDir) ?? 1;
        return new RunWorld(world, graph.Train.Loop.Batch);
    }

    /// <summary>The launch settings that differ from <paramref name="other"/>'s (world_size, batch_per_rank), for <see cref="GraphDiffResult.Launch"/>.</summary>
    public IReadOnlyList<TrainChange> Compare(RunWorld other)
    {
        var changes = new List<TrainChange>();
        if (WorldSize != other.WorldSize) changes.Add(new TrainChange("world_size", (long)WorldSize, (long)other.WorldSize));
        if (PerRankBatch != other.PerRankBatch) changes.Add(new TrainChange("batch_per_rank", PerRankValue, other.PerRankValue));
        return changes;
    }

    /// <summary>The per-rank batch as a number when every rank has the same, else its text (<c>11/11/10</c>).</summary>
    private object PerRankValue => long.TryParse(PerRankBatch, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : PerRankBatch;

    private static int? SummaryWorldSize(string runDir)
    {
        var path = RunDirectory.SummaryOf(runDir);
        if (!File.Exists(path)) return null;
        var m = WorldSizeLine().Match(File.ReadAllText(path));
        return m.Success && int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 ? n : null;
    }

    [GeneratedRegex(@"^world_size: (\d+)", RegexOptions.Multiline)]
    private static partial Regex WorldSizeLine();
}
