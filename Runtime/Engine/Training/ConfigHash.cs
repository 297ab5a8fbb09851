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
    /// Whether the run in <paramref name="runDir"/> trains the configuration whose hash is <paramref name="hash"/>:
    /// its <c>run.json</c>'s <c>config_hash</c> is that hash, or its <c>graph.yaml</c>, read back and hashed as
    /// <see cref="Of"/> hashes now, gives it. The second covers runs written before <c>config_hash</c> was
    /// recorded and runs whose recorded hash was taken from an older printing of the same graph (before floats
    /// were printed as Python does, <c>eps: 1E-05</c> where <see cref="GraphYaml"/> now writes <c>1e-05</c>):
    /// the hash is of a text, and the same configuration printed differently is still the same configuration.
    /// False when neither file can be read.
    /// </summary>
    public static bool IsRunOf(string runDir, string hash)
    {
        try
        {
            if (RunDirectory.ReadRunInfo(runDir).ConfigHash == hash) return true;
            return File.Exists(Path.Combine(runDir, RunDirectory.GraphYamlFile)) && Of(RunDirectory.ReadGraph(runDir)) == hash;
        }
        catch (TrainingException) { return false; }
    }
}
