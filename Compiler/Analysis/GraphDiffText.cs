using System.Globalization;
using System.Text;
using ArchDsl.Compiler.Printers;
using static ArchDsl.Compiler.Analysis.DiffDescription;

namespace ArchDsl.Compiler.Analysis;

/// <summary>The terminal form of a <see cref="GraphDiffResult"/> (<c>archc diff</c>): header, totals table, collapsed groups, train keys.</summary>
internal static class GraphDiffText
{
    public static string Render(GraphDiffResult r)
    {
        var sb = new StringBuilder();
        sb.Append("--- ").Append(r.BeforeLabel).Append('\n');
        sb.Append("+++ ").Append(r.AfterLabel).Append('\n');
        if (r.ArchChanged) sb.Append("arch ").Append(r.Before.Arch).Append(Arrow).Append(r.After.Arch).Append('\n');
        if (r.InputChanged) sb.Append("input ").Append(r.Before.Input).Append(Arrow).Append(r.After.Input).Append('\n');
        if (r.OutputChanged) sb.Append("output ").Append(r.Before.OutputNode.Name).Append(Arrow).Append(r.After.OutputNode.Name).Append('\n');
        if (r.IsEmpty)
        {
            sb.Append("no differences: the compiled graphs and train settings are identical\n");
            sb.Append("params ").Append(ValueFormat.Count(r.After.ParamCount))
              .Append(", mult-adds ").Append(ValueFormat.Count(r.After.MultAdds)).Append('\n');
            AppendLaunch(sb, r.Launch);
            AppendSources(sb, r.Sources);
            return sb.ToString();
        }

        sb.Append('\n');
        string[] header = ["", "before", "after", "delta", ""];
        var rows = r.Totals.Select(t => new[]
        {
            t.Name, ValueFormat.Count(t.Before), ValueFormat.Count(t.After), Signed(t.Delta), PercentText(t),
        }).ToList();
        var widths = Enumerable.Range(0, header.Length).Select(c => rows.Select(x => x[c].Length).Append(header[c].Length).Max()).ToArray();
        string Row(string[] cells) => string.Join("  ", cells.Select((s, c) => c == 0 ? s.PadRight(widths[c]) : c == 4 ? s : s.PadLeft(widths[c]))).TrimEnd();
        sb.Append(Row(header)).Append('\n');
        foreach (var row in rows) sb.Append(Row(row)).Append('\n');

        foreach (var kind in Enum.GetValues<DiffKind>().Select(k => k.Name()))
        {
            var groups = r.Groups.Where(g => g.Kind == kind).ToList();
            if (groups.Count == 0) continue;
            var count = groups.Sum(g => g.Nodes.Count);
            sb.Append('\n').Append(kind).Append(": ").Append(count).Append(count == 1 ? " node" : " nodes");
            if (groups.Count != count) sb.Append(", ").Append(groups.Count).Append(groups.Count == 1 ? " line" : " lines");
            sb.Append('\n');
            var sign = kind switch { "added" => "+ ", "removed" => "- ", _ => "~ " };
            foreach (var g in groups)
            {
                sb.Append("  ").Append(sign).Append(g.Pattern).Append(": ").Append(g.Summary);
                if (g.Nodes.Count > 1) sb.Append("   (×").Append(g.Nodes.Count).Append(g.Details.Count > 0 || kind != "changed" ? ", each)" : ")");
                sb.Append('\n');
                foreach (var d in g.Details) sb.Append("      ").Append(d).Append('\n');
            }
        }

        if (r.Train.Count > 0)
        {
            sb.Append("\ntrain: ").Append(r.Train.Count).Append(r.Train.Count == 1 ? " key\n" : " keys\n");
            foreach (var t in r.Train)
                sb.Append("  ~ ").Append(t.Key).Append(": ").Append(Show(t.Before)).Append(Arrow).Append(Show(t.After)).Append('\n');
        }
        AppendLaunch(sb, r.Launch);
        AppendSources(sb, r.Sources);
        return sb.ToString();
    }

    /// <summary>The runs' launch settings that differ (<see cref="GraphDiffResult.Launch"/>).</summary>
    private static void AppendLaunch(StringBuilder sb, IReadOnlyList<TrainChange> launch)
    {
        if (launch.Count == 0) return;
        sb.Append("\nlaunch: ").Append(launch.Count).Append(launch.Count == 1 ? " setting\n" : " settings\n");
        foreach (var t in launch)
            sb.Append("  ~ ").Append(t.Key).Append(": ").Append(Show(t.Before)).Append(Arrow).Append(Show(t.After)).Append('\n');
    }

    /// <summary>The overrides by key (<c>(none)</c> for a side without the key) and the spec texts' unified diff.</summary>
    private static void AppendSources(StringBuilder sb, SourceDiff? s)
    {
        if (s is null) return;
        if (s.Overrides.Count > 0)
        {
            sb.Append("\noverrides: ").Append(s.Overrides.Count).Append(s.Overrides.Count == 1 ? " key\n" : " keys\n");
            foreach (var o in s.Overrides)
                sb.Append("  ~ ").Append(o.Key).Append(": ").Append(o.Before ?? "(none)").Append(Arrow).Append(o.After ?? "(none)").Append('\n');
        }
        sb.Append(s.SpecDiff.Length == 0 ? "\nspec: the same text\n" : "\nspec:\n" + s.SpecDiff);
    }

    private static string PercentText(TotalChange t) =>
        t.Delta == 0 ? "" : t.Percent is { } p ? "(" + (p >= 0 ? "+" : "") + p.ToString("0.0", CultureInfo.InvariantCulture) + "%)" : "(new)";
}
