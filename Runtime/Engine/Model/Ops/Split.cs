using ArchDsl.Compiler;
using ArchDsl.Runtime.Export;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Model;

/// <summary>
/// <c>chunk</c>: slice <c>index</c> of <c>chunks</c> equal slices of the channels — <c>x.chunk(chunks, dim)[index]</c> with dim 1
/// (C) of an image <c>[B, C, H, W]</c> and the last dim of tokens <c>[B, N, D]</c> or a vector <c>[B, D]</c>. A view (narrow).
/// </summary>
internal sealed class ChunkModule : OpModule
{
    public override OpId Op => OpId.Chunk;

    /// <summary>The batched dim the channels are: 1 of an image, the last otherwise.</summary>
    static long Dim(Shape input) => input.Layout == Layout.Image ? 1 : input.Dims.Count;

    public override OnnxForm Onnx { get; } = new((g, n, x) =>
    {
        long index = n.Attr<long>("index"), part = n.Input.Dims[n.Image ? 0 : ^1] / n.Attr<long>("chunks");
        return g.Node("Slice", [x[0], g.Ints([index * part], 1), g.Ints([(index + 1) * part], 1), g.Ints([Dim(n.Input)], 1)]);
    });
    public override PyTorchForm PyTorch { get; } = new(n => $"Chunk({n.Attr<long>("index")}, {n.Attr<long>("chunks")}, {(n.Image ? 1 : -1)})",
        new PyHelper("Chunk", """"
        class Chunk(nn.Module):
            """Slice `index` of `chunks` equal slices of dim `dim` (the channels): x.chunk(chunks, dim)[index]."""

            def __init__(self, index, chunks, dim):
                super().__init__()
                self.index, self.chunks, self.dim = index, chunks, dim

            def forward(self, x):
                return x.chunk(self.chunks, self.dim)[self.index]
        """"));
    public override TorchSharpForm TorchSharp { get; } = new(n => $"new Chunk({n.Attr<long>("index")}, {n.Attr<long>("chunks")}, {(n.Image ? 1 : -1)})",
        new CsHelper("Chunk", """"
        /// <summary>Slice index of chunks equal slices of dim (the channels): x.chunk(chunks, dim)[index].</summary>
        public sealed class Chunk(long index, long chunks, long dim) : nn.Module<Tensor, Tensor>(nameof(Chunk))
        {
            public override Tensor forward(Tensor x) => x.chunk(chunks, dim)[index];
        }
        """"));
    public override void Init(NodeTensors t) => NoTensors(t);

    public override NodeKernel Create(NodeTensors t)
    {
        long index = t.Attr<long>("index"), chunks = t.Attr<long>("chunks"), dim = Dim(t.Input);
        var part = t.Input.Dims[t.Layout == Layout.Image ? 0 : ^1] / chunks;
        return new Unary(x => x.narrow(dim, index * part, part));
    }
}
