namespace ArchDsl.Dsl.Tests;

/// <summary>The real specs parse, without diagnostics, to exactly the expected trees.</summary>
public class ExampleSpecTests
{
    private static SpecFile ParseClean(string text)
    {
        var r = SpecParser.Parse(text, "spec.arch");
        Assert.True(r.Diagnostics.Count == 0, string.Join("\n", r.Diagnostics.Select(d => d.Render())));
        return r.File;
    }

    [Fact]
    public void ConvMixer_parses_to_the_expected_tree()
    {
        var f = ParseClean(Examples.ConvMixer);
        Assert.Equal("""
            (arch ConvMixer (dim=128 depth=8 kernel=5 patch=2 classes=10 channels=1 size=28 act=gelu norm=batch residual=token)
              (input image channels size size)
              (stem conv(dim, kernel: patch, stride: patch) -> act -> norm)
              (mixer depth [token: conv(dim, kernel: kernel, groups: dim, padding: same) -> act -> norm] [channel: conv(dim, kernel: 1) -> act -> norm] [residual= residual])
              (head avgpool -> linear(classes))
              (train data=fashion-mnist epochs=3 batch=128 optimizer=adamw(lr: 0.01f, weight_decay: 0.01f) schedule=onecycle augment=[flip, crop(pad: 2)]))

            """.ReplaceLineEndings("\n"), AstText.Of(f));
    }

    [Fact]
    public void Derived_arch_with_import_parses()
    {
        var f = ParseClean(Examples.VitB16);
        Assert.Equal("""
            (import "../vit.arch")
            (arch ViT_B16 = ViT(dim: 768, depth: 12, heads: 12, patch: 16, channels: 3, size: 224, classes: 1000))

            """.ReplaceLineEndings("\n"), AstText.Of(f));
    }

    [Fact]
    public void Mixer_with_block_and_layers_parses()
    {
        var f = ParseClean(Examples.Mixer);
        Assert.Equal("""
            (block token_mlp (hidden) transpose -> linear(hidden) -> gelu -> linear(N) -> transpose)
            (arch Mixer (dim=512 depth=8 patch=16 tokens_hidden=256 channels_hidden=(dim * 4))
              (input image 3 224 224)
              (stem patches(patch) -> linear(dim))
              (mixer depth [token: token_mlp(tokens_hidden)] [channel: linear(channels_hidden) -> gelu -> linear(dim)] [norm= layer, pre] [residual= both])
              (head layernorm -> avgpool -> linear(classes))
              (layers repeat 2{residual{linear(dim) -> gelu}}))

            """.ReplaceLineEndings("\n"), AstText.Of(f));
    }

    [Fact]
    public void Vit_parses_with_values_entries()
    {
        var f = ParseClean(Examples.Vit);
        Assert.Equal("""
            (arch ViT (dim=192 depth=6 heads=3 patch=4 mlp=4 classes=10 channels=1 size=28)
              (input image channels size size)
              (stem patches(patch) -> linear(dim) -> cls_token -> pos_embed)
              (mixer depth [token: attention(heads)] [channel: linear((dim * mlp)) -> gelu -> linear(dim)] [norm= layer, pre] [residual= both] [drop_path= 0.1f])
              (head layernorm -> cls -> linear(classes)))

            """.ReplaceLineEndings("\n"), AstText.Of(f));
    }
}
