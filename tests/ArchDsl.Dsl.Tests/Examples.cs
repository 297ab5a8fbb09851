namespace ArchDsl.Dsl.Tests;

/// <summary>The real specs the parser must read (the README's families: ConvMixer, ViT, MLP-Mixer).</summary>
public static class Examples
{
    public const string ConvMixer = """
        # ConvMixer-h/d
        arch ConvMixer(dim = 128, depth = 8, kernel = 5, patch = 2, classes = 10, channels = 1, size = 28,
                       act = gelu, norm = batch, residual = token)
        input image[channels, size, size]
        stem conv(dim, kernel: patch, stride: patch) -> act -> norm
        mixer * depth {
          token:    conv(dim, kernel: kernel, groups: dim, padding: same) -> act -> norm
          channel:  conv(dim, kernel: 1) -> act -> norm
          residual: residual
        }
        head avgpool -> linear(classes)
        train { data: fashion-mnist, epochs: 3, batch: 128,
                optimizer: adamw(lr: 0.01, weight_decay: 0.01), schedule: onecycle, augment: [flip, crop(pad: 2)] }
        """;

    public const string VitB16 = """
        import "../vit.arch"
        arch ViT_B16 = ViT(dim: 768, depth: 12, heads: 12, patch: 16, channels: 3, size: 224, classes: 1000)
        """;

    public const string Mixer = """
        block token_mlp(hidden) { transpose -> linear(hidden) -> gelu -> linear(N) -> transpose }
        arch Mixer(dim = 512, depth = 8, patch = 16, tokens_hidden = 256, channels_hidden = dim * 4)
        input image[3, 224, 224]
        stem patches(patch) -> linear(dim)
        mixer * depth {
          token: token_mlp(tokens_hidden)
          channel: linear(channels_hidden) -> gelu -> linear(dim)
          norm: layer, pre
          residual: both
        }
        head layernorm -> avgpool -> linear(classes)
        layers repeat 2 { residual { linear(dim) -> gelu } }
        """;

    public const string Vit = """
        # ViT: the same skeleton, other words
        arch ViT(dim = 192, depth = 6, heads = 3, patch = 4, mlp = 4, classes = 10, channels = 1, size = 28)
        input image[channels, size, size]
        stem patches(patch) -> linear(dim) -> cls_token -> pos_embed
        mixer * depth {
          token:   attention(heads)
          channel: linear(dim * mlp) -> gelu -> linear(dim)
          norm: layer, pre                        # norm type and placement
          residual: both
          drop_path: 0.1
        }
        head layernorm -> cls -> linear(classes)
        """;

    public static readonly string[] All = [ConvMixer, VitB16, Mixer, Vit];
}
