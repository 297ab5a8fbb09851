namespace ArchDsl.Dsl.Tests;

/// <summary>Imports resolved through an in-memory file system.</summary>
public class LoaderTests
{
    private static Func<string, string?> Fs(params (string Path, string Text)[] files)
    {
        var map = files.ToDictionary(f => f.Path, f => f.Text);
        return p => map.TryGetValue(p, out var t) ? t : null;
    }

    [Fact]
    public void Imports_are_relative_to_the_importing_file_and_come_first()
    {
        var r = SpecLoader.Load("/specs/imagenet/vit_b16.arch", Fs(
            ("/specs/imagenet/vit_b16.arch", Examples.VitB16),
            ("/specs/vit.arch", "import \"./blocks/mlp.arch\"\narch ViT(dim = 192)\nstem mlp(dim)"),
            ("/specs/blocks/mlp.arch", "block mlp(h) { linear(h) -> gelu }")));
        Assert.Empty(r.Diagnostics);
        Assert.Equal(["/specs/blocks/mlp.arch", "/specs/vit.arch", "/specs/imagenet/vit_b16.arch"], r.Files.Select(f => f.Source.Path));
        Assert.Same(r.Files[^1], r.Root);
        Assert.Equal("ViT_B16", r.Root!.Archs[0].Name);
    }

    [Fact]
    public void Missing_import_is_reported_at_the_import_with_the_resolved_path()
    {
        var r = SpecLoader.Load("/s/a.arch", Fs(("/s/a.arch", "# a\nimport \"../lib/none.arch\"\narch A(d = 1)")));
        var d = Assert.Single(r.Diagnostics);
        Assert.Equal(DslCodes.ImportNotFound.Code, d.Code);
        Assert.Equal("imported file '/lib/none.arch' not found", d.Message);
        Assert.Equal(("/s/a.arch", 2, 1), (d.Span!.Value.File, d.Span.Value.Line, d.Span.Value.Column));
        Assert.NotNull(r.Root);
    }

    [Fact]
    public void Cycle_is_reported_at_the_import_that_closes_it_with_the_chain()
    {
        var r = SpecLoader.Load("/m/a.arch", Fs(
            ("/m/a.arch", "import \"b.arch\"\narch A(d = 1)"),
            ("/m/b.arch", "import \"c.arch\""),
            ("/m/c.arch", "block c { x }\nimport \"a.arch\"")));
        var d = Assert.Single(r.Diagnostics);
        Assert.Equal(DslCodes.ImportCycle.Code, d.Code);
        Assert.Equal("import cycle: /m/a.arch -> /m/b.arch -> /m/c.arch -> /m/a.arch", d.Message);
        Assert.Equal(("/m/c.arch", 2, 1), (d.Span!.Value.File, d.Span.Value.Line, d.Span.Value.Column));
        Assert.Equal(["/m/c.arch", "/m/b.arch", "/m/a.arch"], r.Files.Select(f => f.Source.Path));
    }

    [Fact]
    public void A_file_importing_itself_is_a_cycle()
    {
        var r = SpecLoader.Load("/m/a.arch", Fs(("/m/a.arch", "import \"./a.arch\"")));
        Assert.Equal("import cycle: /m/a.arch -> /m/a.arch", Assert.Single(r.Diagnostics).Message);
    }

    [Fact]
    public void Diamond_parses_the_shared_file_once()
    {
        var reads = new List<string>();
        var fs = Fs(
            ("/d/top.arch", "import \"left.arch\"\nimport \"right.arch\""),
            ("/d/left.arch", "import \"base.arch\""),
            ("/d/right.arch", "import \"./sub/../base.arch\""),
            ("/d/base.arch", "block base { x }"));
        var r = SpecLoader.Load("/d/top.arch", p => { reads.Add(p); return fs(p); });
        Assert.Empty(r.Diagnostics);
        Assert.Equal(["/d/base.arch", "/d/left.arch", "/d/right.arch", "/d/top.arch"], r.Files.Select(f => f.Source.Path));
        Assert.Equal(1, reads.Count(p => p == "/d/base.arch"));
    }

    [Fact]
    public void Relative_root_paths_stay_relative_in_diagnostics()
    {
        var r = SpecLoader.Load("specs/a.arch", Fs(("specs/a.arch", "import \"lib/b.arch\""), ("specs/lib/b.arch", "arch B(x: 1)")));
        var d = Assert.Single(r.Diagnostics);
        Assert.Equal(DslCodes.ExpectedEquals.Code, d.Code);
        Assert.Equal($"specs{Path.DirectorySeparatorChar}lib{Path.DirectorySeparatorChar}b.arch", d.Span!.Value.File);
    }

    [Fact]
    public void Missing_root_file()
    {
        var r = SpecLoader.Load("/nowhere/x.arch", Fs());
        var d = Assert.Single(r.Diagnostics);
        Assert.Equal(DslCodes.FileNotFound.Code, d.Code);
        Assert.Equal("spec file '/nowhere/x.arch' not found", d.Message);
        Assert.Null(r.Root);
        Assert.Empty(r.Files);
    }

    [Fact]
    public void Unreadable_file_is_a_diagnostic_not_an_exception()
    {
        var r = SpecLoader.Load("/u/a.arch", p => p == "/u/a.arch" ? "import \"b.arch\"" : throw new UnauthorizedAccessException("permission denied"));
        var d = Assert.Single(r.Diagnostics);
        Assert.Equal(DslCodes.FileUnreadable.Code, d.Code);
        Assert.Equal("cannot read '/u/b.arch': permission denied", d.Message);
        Assert.Equal(1, d.Span!.Value.Line);
    }

    [Fact]
    public void A_directory_given_as_the_spec_is_called_a_directory_with_the_specs_it_holds_as_the_hint()
    {
        var dir = Directory.CreateTempSubdirectory("archdsl-loader-dir-").FullName;
        try
        {
            var empty = Assert.Single(SpecLoader.Load(dir).Diagnostics);
            Assert.Equal(DslCodes.FileUnreadable.Code, empty.Code);  // not AD0052 "spec file not found": it is there
            Assert.Equal($"cannot read '{dir}': it is a directory, not a spec file", empty.Message);
            Assert.Equal("give a .arch file", empty.Hint);
            foreach (var name in new[] { "spec.arch", "a.arch", "c.arch", "b.arch", "notes.txt" }) File.WriteAllText(Path.Combine(dir, name), "");
            var d = Assert.Single(SpecLoader.Load(dir).Diagnostics);
            Assert.Equal($"it holds a.arch, b.arch, c.arch and 1 more: name the file, as '{Path.Combine(dir, "a.arch")}'", d.Hint);
            Assert.Null(d.Span);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Syntax_errors_of_imported_files_are_collected()
    {
        var r = SpecLoader.Load("/e/a.arch", Fs(("/e/a.arch", "import \"b.arch\"\narch A(d = 1 +)"), ("/e/b.arch", "block b { x y }")));
        Assert.Equal(["/e/a.arch", "/e/b.arch"], r.Diagnostics.Select(d => d.Span!.Value.File));
        Assert.True(r.HasErrors);
    }

    [Fact]
    public void Loads_from_disk()
    {
        var dir = Directory.CreateTempSubdirectory("archdsl-loader-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "vit.arch"), Examples.Vit);
            Directory.CreateDirectory(Path.Combine(dir.FullName, "imagenet"));
            var root = Path.Combine(dir.FullName, "imagenet", "b16.arch");
            File.WriteAllText(root, Examples.VitB16);
            var r = SpecLoader.Load(root);
            Assert.Empty(r.Diagnostics);
            Assert.Equal(2, r.Files.Count);
            Assert.Equal(Path.Combine(dir.FullName, "vit.arch"), r.Files[0].Source.Path);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
