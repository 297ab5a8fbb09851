using ArchDsl.Runtime.Sweep;
using static ArchDsl.Runtime.Tests.SweepTestKit;

namespace ArchDsl.Runtime.Tests;

/// <summary>Sweep files: parsing, errors, and expansion into configurations × seeds.</summary>
public sealed class SweepPlanTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("archdsl-sweepplan-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Grid_times_seeds_expands_configuration_major_with_budget_and_seed_overrides()
    {
        var file = Write(_dir, $$"""
            name: kernels
            spec: {{Spec("convmixer.arch")}}
            grid:
              kernel: [3, 5, 7, 9]
            set: { depth: 2 }
            budget: { epochs: 1, subset: 500 }
            seeds: [0, 1]
            output: out
            """);
        var plan = SweepPlan.Expand(file);
        Assert.Equal(Path.Combine(_dir, "out"), plan.OutputDir);
        Assert.Equal(["kernel=3", "kernel=5", "kernel=7", "kernel=9"], plan.Configs.Select(c => c.Id));
        Assert.Equal(["kernel=3", "kernel=5", "kernel=7", "kernel=9"], plan.Configs.Select(c => c.Label));
        Assert.Equal(8, plan.Points.Count);
        Assert.Equal(["kernel=3/seed0", "kernel=3/seed1", "kernel=5/seed0", "kernel=5/seed1"], plan.Points.Take(4).Select(p => p.Name));
        Assert.Equal(["depth=2", "kernel=7", "train.epochs=1", "train.subset=500", "train.seed=1"], plan.Points[5].Overrides);
        Assert.Equal(Path.Combine(_dir, "out", "points", "kernel=7", "seed1"), plan.Points[5].Directory);
        Assert.All(plan.Configs, c => Assert.Equal(Spec("convmixer.arch"), c.Spec));
    }

    [Fact]
    public void Two_grid_keys_are_a_cartesian_product_first_key_outermost()
    {
        var file = Write(_dir, $$"""
            spec: {{Spec("convmixer.arch")}}
            grid:
              norm: [batch, layer]
              residual: [token, both, none]
            """);
        var plan = SweepPlan.Expand(file);
        Assert.Equal(
            ["norm=batch residual=token", "norm=batch residual=both", "norm=batch residual=none",
             "norm=layer residual=token", "norm=layer residual=both", "norm=layer residual=none"],
            plan.Configs.Select(c => c.Label));
        Assert.Equal("norm=layer-residual=both", plan.Configs[4].Id);
        Assert.Equal([0L], file.Seeds);
        Assert.Equal(6, plan.Points.Count);
        Assert.Equal(Path.Combine(_dir, "runs", "sweeps", "sweep"), plan.OutputDir);
    }

    [Fact]
    public void Points_may_name_their_own_specs_and_are_crossed_with_the_grid()
    {
        var file = Write(_dir, $$"""
            points:
              - label: convmixer
                spec: {{Spec("convmixer.arch")}}
                set: { dim: 64 }
              - label: vit
                spec: {{Spec("vit.arch")}}
                set: { dim: 64, heads: 2 }
            grid:
              depth: [2, 4]
            seeds: [3]
            """);
        var plan = SweepPlan.Expand(file);
        Assert.Equal(["convmixer depth=2", "convmixer depth=4", "vit depth=2", "vit depth=4"], plan.Configs.Select(c => c.Label));
        Assert.Equal(["dim=64", "heads=2", "depth=4"], plan.Configs[3].Overrides);
        Assert.Equal(Spec("vit.arch"), plan.Configs[3].Spec);
        Assert.Equal(["dim=64", "heads=2", "depth=4", "train.seed=3"], plan.Points[3].Overrides);
    }

    [Fact]
    public void Several_specs_without_points_name_configurations_by_spec()
    {
        var file = Write(_dir, $$"""
            specs: [{{Spec("convmixer.arch")}}, {{Spec("mlp-mixer.arch")}}]
            seeds: [0, 1, 2]
            """);
        var plan = SweepPlan.Expand(file);
        Assert.Equal(["convmixer", "mlp-mixer"], plan.Configs.Select(c => c.Id));
        Assert.Equal(6, plan.Points.Count);
        Assert.Equal("(defaults)", plan.Configs[0].VariedText);
    }

    [Fact]
    public void Ids_that_sanitise_alike_get_a_hash()
    {
        var file = Write(_dir, $$"""
            spec: {{Spec("convmixer.arch")}}
            grid:
              norm: ["layer(eps: 1e-6)", "layer(eps; 1e-6)"]
            """);
        var plan = SweepPlan.Expand(file);
        Assert.Equal(2, plan.Configs.Select(c => c.Id).Distinct().Count());
        Assert.All(plan.Configs, c => Assert.Matches(@"^norm=layer_eps__1e-6_-[0-9a-f]{8}$", c.Id));
    }

    [Theory]
    [InlineData("spec: a.arch\nbogus: 1\n", "AD0217", 2, 1, "unknown key 'bogus' in a sweep file")]
    [InlineData("grid: { kernel: [3] }\n", "AD0223", 1, 1, "the sweep names no spec to train")]
    [InlineData("spec: a.arch\nseeds: [0, x]\n", "AD0221", 2, 12, "seeds must be integers, got 'x'")]
    [InlineData("spec: a.arch\nseeds: [1, 1]\n", "AD0221", 2, 12, "seeds must be different from each other, got '1'")]
    [InlineData("spec: a.arch\nbudget: { train.epochs: 1 }\n", "AD0221", 2, 11, "budget keys must be train keys without the 'train.' prefix, got 'train.epochs'")]
    [InlineData("spec: a.arch\ngrid: [1, 2]\n", "AD0219", 2, 7, "grid must be a mapping of key: [values]")]
    [InlineData("spec: a.arch\ngrid: { kernel: [] }\n", "AD0221", 2, 17, "grid.kernel must be a list of one value or more, got '[]'")]
    [InlineData("spec: a.arch\npoints:\n  - { lable: x }\n", "AD0217", 3, 7, "unknown key 'lable' in a point")]
    [InlineData("spec: a.arch\nthreads: 0\n", "AD0221", 2, 10, "threads must be a positive integer, got '0'")]
    [InlineData("spec: a.arch\nset: { dim: [1, 2] }\n", "AD0219", 2, 13, "set.dim must be a single value")]
    [InlineData("spec: [a.arch\n", "AD0215", 2, 1, "not valid YAML")]
    [InlineData("- a\n- b\n", "AD0215", 1, 1, "a sweep file is a YAML mapping of keys")]
    public void Bad_sweep_files_get_located_coded_errors(string yaml, string code, int line, int column, string message)
    {
        var e = Assert.Throws<SweepException>(() => Write(_dir, yaml));
        var d = Assert.Single(e.Diagnostics);
        Assert.Equal((code, line, column), (d.Code, d.Span!.Value.Line, d.Span.Value.Column));
        Assert.StartsWith(message, d.Message);
        Assert.EndsWith("sweep.yaml", d.Span.Value.File);
        Assert.Contains($"sweep.yaml:{line}:{column}: error {code}: {message}", d.Render());
    }

    [Fact]
    public void Every_error_of_a_sweep_file_is_reported_at_once_in_file_order()
    {
        var e = Assert.Throws<SweepException>(() => Write(_dir, "grid: { kernel: [] }\nsedes: [0]\nthreads: two\npoints:\n  - { spek: a.arch }\n"));
        Assert.Equal([("AD0221", 1), ("AD0217", 2), ("AD0221", 3), ("AD0217", 5), ("AD0223", 1)], e.Diagnostics.Select(d => (d.Code, d.Span!.Value.Line)));
        Assert.Equal("did you mean 'seeds'?", e.Diagnostics[1].Hint);
        Assert.Equal("did you mean 'spec'?", e.Diagnostics[3].Hint);
    }
}
