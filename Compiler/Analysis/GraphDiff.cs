namespace ArchDsl.Compiler.Analysis;

/// <summary>Compares two compiled graphs node by node (see <see cref="GraphDiffResult"/> for what is compared).</summary>
public static class GraphDiff
{
    public static readonly string[] TotalNames = ["params", "buffers", "mult-adds", "activation-bytes", "nodes"];

    /// <summary>Compares two compiled graphs; the labels name them in the output (a file, a file with overrides).</summary>
    public static GraphDiffResult Compare(IrGraph before, IrGraph after, string beforeLabel = "a", string afterLabel = "b")
    {
        var aById = before.Nodes.ToDictionary(n => n.Id);
        var bById = after.Nodes.ToDictionary(n => n.Id);
        var aByName = before.Nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        var bByName = after.Nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);

        var removed = before.Nodes.Where(n => !bByName.ContainsKey(n.Name)).ToList();
        var added = after.Nodes.Where(n => !aByName.ContainsKey(n.Name)).ToList();
        var changed = new List<NodeChange>();
        foreach (var b in after.Nodes)
        {
            if (!aByName.TryGetValue(b.Name, out var a)) continue;
            var fields = CompareNodes(a, b, aById, bById);
            if (fields.Count > 0) changed.Add(new NodeChange(b.Name, a, b, fields));
        }

        var totals = new List<TotalChange>
        {
            new("params", before.ParamCount, after.ParamCount),
            new("buffers", before.BufferCount, after.BufferCount),
            new("mult-adds", before.MultAdds, after.MultAdds),
            new("activation-bytes", before.ActivationBytes, after.ActivationBytes),
            new("nodes", before.Nodes.Count, after.Nodes.Count),
        };

        var train = new List<TrainChange>();
        foreach (var key in before.Train.Values.Keys.Union(after.Train.Values.Keys).OrderBy(k => k, StringComparer.Ordinal))
        {
            before.Train.Values.TryGetValue(key, out var x);
            after.Train.Values.TryGetValue(key, out var y);
            if (!IrEquality.ValueEqual(x, y)) train.Add(new TrainChange(key, x, y));
        }

        var groups = DiffCollapse.Collapse(changed, added, removed, aById, bById, before, after);
        return new GraphDiffResult(beforeLabel, afterLabel, before, after, added, removed, changed, totals, train, groups);
    }

    /// <summary>
    /// Compares two runs (or any two graphs with what they were made from): the graphs as <see cref="Compare"/> does —
    /// nodes and every resolved train key — and their <see cref="SourceDiff"/>: overrides by key and spec texts.
    /// </summary>
    public static GraphDiffResult CompareRuns(IrGraph before, IrGraph after, GraphSources beforeSources, GraphSources afterSources,
                                              string beforeLabel, string afterLabel) =>
        Compare(before, after, beforeLabel, afterLabel) with { Sources = SourceDiff.Of(beforeSources, afterSources, beforeLabel, afterLabel) };

    private static List<FieldChange> CompareNodes(IrNode a, IrNode b, Dictionary<int, IrNode> aById, Dictionary<int, IrNode> bById)
    {
        var fields = new List<FieldChange>();
        if (a.Op != b.Op) fields.Add(new FieldChange("op", a.Op, b.Op));
        foreach (var key in a.Attrs.Keys.Union(b.Attrs.Keys).OrderBy(k => k, StringComparer.Ordinal))
        {
            a.Attrs.TryGetValue(key, out var x);
            b.Attrs.TryGetValue(key, out var y);
            if (!IrEquality.ValueEqual(x, y)) fields.Add(new FieldChange("attrs." + key, x, y));
        }
        var ia = a.Inputs.Select(id => NameOf(id, aById)).ToList();
        var ib = b.Inputs.Select(id => NameOf(id, bById)).ToList();
        if (!ia.SequenceEqual(ib, StringComparer.Ordinal)) fields.Add(new FieldChange("inputs", ia, ib));
        if (!a.InputShapes.SequenceEqual(b.InputShapes)) fields.Add(new FieldChange("input_shapes", a.InputShapes, b.InputShapes));
        if (!a.OutputShape.Equals(b.OutputShape)) fields.Add(new FieldChange("output_shape", a.OutputShape, b.OutputShape));
        CompareTensors("params", a.Params, b.Params, fields);
        CompareTensors("buffers", a.Buffers, b.Buffers, fields);
        if (a.MultAdds != b.MultAdds) fields.Add(new FieldChange("mult_adds", a.MultAdds, b.MultAdds));
        return fields;
    }

    private static void CompareTensors(string kind, IReadOnlyList<TensorSpec> a, IReadOnlyList<TensorSpec> b, List<FieldChange> fields)
    {
        var names = a.Select(t => t.Name).Concat(b.Select(t => t.Name)).Distinct(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var x = a.FirstOrDefault(t => t.Name == name);
            var y = b.FirstOrDefault(t => t.Name == name);
            if (x is null || y is null || !x.Equals(y)) fields.Add(new FieldChange($"{kind}.{name}", x?.Shape, y?.Shape));
        }
    }

    /// <summary>The name of node <paramref name="id"/>, or <c>#id</c> when the graph has no such node.</summary>
    internal static string NameOf(int id, Dictionary<int, IrNode> byId) => byId.TryGetValue(id, out var n) ? n.Name : $"#{id}";
}
