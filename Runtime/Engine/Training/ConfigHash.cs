using System.Security.Cryptography;
using System.Text;
using ArchDsl.Compiler;
using ArchDsl.Compiler.Printers;

namespace ArchDsl.Runtime.Training;

/// <summary>
/// A content hash of what a run trains: the compiled graph (ops, attributes, shapes, parameters) and its
/// resolved train config (data, schedule, optimizer, augmentation, seed, budget), as the SHA-256 of its
/// <see cref="GraphYaml"/> text with source locations left out — so a comment or a moved line in the spec
/// does not change it, any change to the model or the recipe does. Recorded in <c>run.json</c>
/// (<c>config_hash</c>); sweeps compare it to decide whether a run is still a run of the point.
/// </summary>
public static class ConfigHash
{
    /// <summary><c>sha256:</c> and 64 hex digits.</summary>
    public static string Of(IrGraph graph)
    {
        var located = graph with { Nodes = graph.Nodes.Select(n => n with { Origin = null }).ToList() };
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(GraphYaml.Write(located))));
    }

    /// <summary>
    /// The hash of the run in <paramref name="runDir"/>: <c>run.json</c>'s <c>config_hash</c>, or for a run
    /// written before it was recorded, the hash of its <c>graph.yaml</c>; null when neither can be read.
    /// </summary>
    public static string? OfRun(string runDir)
    {
        try
        {
            if (RunDirectory.ReadRunInfo(runDir).ConfigHash is { Length: > 0 } recorded) return recorded;
            return File.Exists(Path.Combine(runDir, RunDirectory.GraphYamlFile)) ? Of(RunDirectory.ReadGraph(runDir)) : null;
        }
        catch (TrainingException) { return null; }
    }
}
