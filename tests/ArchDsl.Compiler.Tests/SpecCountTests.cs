namespace ArchDsl.Compiler.Tests;

using static CompilerTestKit;

/// <summary>The ImageNet specs reproduce the published parameter counts exactly (the README's "Published parameter counts" table).</summary>
public class SpecCountTests
{
    [Theory]
    [InlineData("imagenet/convmixer-1536-20.arch", 51_625_960)]
    [InlineData("imagenet/convmixer-768-32.arch", 21_110_248)]
    [InlineData("imagenet/convmixer-1024-20-p14.arch", 24_383_464)]
    [InlineData("imagenet/vit-b16.arch", 86_567_656)]
    [InlineData("imagenet/vit-s16.arch", 22_050_664)]
    [InlineData("imagenet/vit-ti16.arch", 5_717_416)]
    [InlineData("imagenet/mixer-b16.arch", 59_880_472)]
    [InlineData("imagenet/mixer-s16.arch", 18_528_264)]
    public void ImageNetSpecsMatchPublishedParameterCounts(string spec, long expected)
    {
        var g = SpecGraph(spec);
        Assert.Equal(expected, g.ParamCount);
        Assert.Equal(Shape.Image(3, 224, 224), g.Input);
        Assert.Equal(Shape.Vector(1000), g.OutputNode.OutputShape);
    }
}
