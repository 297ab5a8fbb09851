using ArchDsl.Runtime.Sweep;
using static ArchDsl.Runtime.Tests.SweepTestKit;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// An override a sweep file writes (grid, set, budget, a point's set) that does not compile is reported at its line and
/// column in the sweep file, with that line and a caret, once however many configurations it stops — not in the
/// pseudo-file <c>&lt;--set&gt;</c> of a typed override, once per configuration.
/// </summary>
public sealed class SweepOverrideLocationTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("archdsl-sweeploc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string CompileErrors(string yaml)
    {
        var plan = SweepPlan.Expand(Write(_dir, yaml));
        return Assert.Throws<SweepException>(() => SweepRunner.Compile(plan)).Message;
    }

    [Fact]
    public void A_mistyped_grid_key_is_reported_once_at_its_line_and_column_in_the_sweep_file()
    {
        var message = CompileErrors($$"""
            spec: {{Spec("convmixer.arch")}}
            grid:
              kernal: [3, 5]
            """);
        var lines = message.Split('\n');
        Assert.EndsWith("sweep.yaml: 2 of 2 configuration(s) do not compile:", lines[0]);
        Assert.Equal(Path.Combine(_dir, "sweep.yaml") + ":3:3: error AD0120: arch 'ConvMixer' has no parameter 'kernal' to override", lines[1]);
        Assert.Equal(" 3 |   kernal: [3, 5]", lines[2]);
        Assert.Equal("   |   ^^^^^^", lines[3]);
        Assert.Equal("  = hint: did you mean 'kernel'?", lines[4]);
        Assert.Equal(5, lines.Length);  // once, though both configurations have it
        Assert.DoesNotContain("<--set>", message);
    }

    [Fact]
    public void A_bad_grid_value_is_located_in_its_list_and_named_with_the_configurations_it_stops()
    {
        var message = CompileErrors($$"""
            spec: {{Spec("convmixer.arch")}}
            grid:
              act: [relu, 'gelu(approximate: tanhh)']
            """);
        var lines = message.Split('\n');
        Assert.EndsWith("sweep.yaml: 1 of 2 configuration(s) do not compile:", lines[0]);
        Assert.EndsWith("sweep.yaml:3:34: error AD0104: argument 'approximate' of gelu expects none or tanh but got 'tanhh'", lines[1]);
        Assert.Equal(" 3 |   act: [relu, 'gelu(approximate: tanhh)']", lines[2]);
        Assert.Equal("   |                                  ^^^^^", lines[3]);
        Assert.Equal("  = in 'act=gelu(approximate: tanhh)'", lines[^1]);
    }

    [Fact]
    public void Budget_and_set_errors_point_at_the_key_or_value_the_file_writes()
    {
        var message = CompileErrors($$"""
            spec: {{Spec("convmixer.arch")}}
            set: { depht: 4 }
            budget:
              epochs: -1
              optimizer.lrr: 0.1
            """);
        Assert.Contains("sweep.yaml:2:8: error AD0120: arch 'ConvMixer' has no parameter 'depht' to override", message);
        Assert.Contains("sweep.yaml:4:11: error AD0141: train key 'epochs' expects a positive integer but got the integer -1", message);
        Assert.Contains(" 4 |   epochs: -1\n   |           ^^\n", message);
        Assert.Contains("sweep.yaml:5:13: error AD0101: adamw has no argument 'lrr'", message);
        Assert.DoesNotContain("  = in ", message);  // every configuration (the one) has them
    }

    [Fact]
    public void A_key_the_grid_varies_overrides_the_sweeps_set_instead_of_conflicting_with_it()
    {
        var plan = SweepPlan.Expand(Write(_dir, $$"""
            spec: {{Spec("convmixer.arch")}}
            set: { depth: 6, dim: 32 }
            grid:
              depth: [2, 4]
            budget: { epochs: 1 }
            """));
        Assert.Equal(["depth=2", "dim=32", "train.epochs=1"], plan.Configs[0].Overrides);
        Assert.Equal(["depth=4", "dim=32", "train.epochs=1"], plan.Configs[1].Overrides);
        var compiled = SweepRunner.Compile(plan);  // no 'given twice' error
        Assert.True(compiled[0].Params < compiled[1].Params, "depth 2 has fewer parameters than depth 4");
    }

    [Fact]
    public void A_spec_that_is_no_file_is_reported_where_the_sweep_names_it_with_the_closest_spec_as_the_hint()
    {
        File.WriteAllText(Path.Combine(_dir, "tiny.arch"), File.ReadAllText(Spec("convmixer.arch")));
        var plan = SweepPlan.Expand(Write(_dir, """
            specs: [tiny.arch, tinny.arch]
            points:
              - { label: far, spec: ../nowhere/x.arch }
            """));
        var e = Assert.Throws<SweepException>(() => SweepRunner.Compile(plan));   // was AD0052 "spec file … not found", unlocated
        Assert.Equal([
            ("AD0221", 1, 20, "spec must be a spec file that exists, got 'tinny.arch'", "did you mean 'tiny.arch'?"),
            ("AD0221", 3, 25, "spec must be a spec file that exists, got '../nowhere/x.arch'", $"spec paths are relative to the sweep file's folder, {_dir}")],
            e.Diagnostics.Select(d => (d.Code, d.Span!.Value.Line, d.Span!.Value.Column, d.Message, d.Hint)));
    }
}
