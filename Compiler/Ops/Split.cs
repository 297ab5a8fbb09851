using static ArchDsl.Compiler.ArgKind;

namespace ArchDsl.Compiler;

/// <summary>
/// <c>chunk</c>: one of equal slices of the channels, as <c>torch.chunk(x, chunks, dim)[index]</c> over the channel dim (C of an
/// image, the last dim of tokens or a vector). <c>residual(gate) { body }</c> is made of two: u = <c>chunk(0)</c>, v =
/// <c>chunk(1)</c>, then u · body(v) (timm's <c>x.chunk(2, dim=-1)</c> in GluMlp and gMLP's SpatialGatingUnit).
/// A view, so mult-adds 0 (the convention on <see cref="OpCatalog"/>).
/// </summary>
internal static class SplitOps
{
    public static readonly OpDef Chunk = new(OpId.Chunk, "chunk", "chunk",
        [new("index", NonNegInt, null), new("chunks", PosInt, 2L)],
        null, "image[C,H,W] → image[C/chunks,H,W]; tokens[N,D] → tokens[N,D/chunks]; vector[D] → vector[D/chunks]",
        "slice index (0-based) of chunks equal slices of the channels (torch.chunk(x, chunks, dim)[index] over C of an image, " +
        "the last dim otherwise); residual(gate) { body } splits with it. The channels must divide evenly",
        c =>
        {
            long index = c.L("index"), chunks = c.L("chunks"), ch = ScaleOps.Channels(c);
            if (ch % chunks != 0)
                return c.ArgError(CompilerDiagnostics.ChunkDoesNotDivide, "chunks",
                    "give the chain before it a channel count that the chunks divide (residual(gate) splits in 2)", ch, chunks, c.X);
            if (index >= chunks)
                return c.ArgError(CompilerDiagnostics.ChunkIndexOutOfRange, "index", $"index counts from 0 to {chunks - 1}", index, chunks);
            c.Attrs("index", "chunks");
            var part = ch / chunks;
            return c.Done(c.X.Layout switch
            {
                Layout.Image => Shape.Image((int)part, c.D[1], c.D[2]),
                Layout.Tokens => Shape.Tokens(c.D[0], (int)part),
                _ => Shape.Vector((int)part),
            });
        });
}
