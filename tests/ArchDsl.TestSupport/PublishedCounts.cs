namespace ArchDsl.TestSupport;

/// <summary>
/// The parameter counts of the published models the ImageNet specs reproduce, as the README's "Published
/// parameter counts" table and each spec's first line state them.
/// </summary>
public static class PublishedCounts
{
    /// <summary>Spec path under specs/ → total parameters.</summary>
    public static IReadOnlyList<(string Spec, long Params)> ImageNet { get; } =
    [
        ("imagenet/convmixer-1536-20.arch", 51_625_960),
        ("imagenet/convmixer-768-32.arch", 21_110_248),
        ("imagenet/convmixer-1024-20-p14.arch", 24_383_464),
        ("imagenet/vit-b16.arch", 86_567_656),
        ("imagenet/vit-s16.arch", 22_050_664),
        ("imagenet/vit-ti16.arch", 5_717_416),
        ("imagenet/mixer-b16.arch", 59_880_472),
        ("imagenet/mixer-s16.arch", 18_528_264),
        ("imagenet/resmlp-s12.arch", 15_350_872),
        ("imagenet/resmlp-s36.arch", 44_690_488),
        ("imagenet/resmlp-b24-8.arch", 129_138_280),
        ("imagenet/poolformer-s12.arch", 11_915_176),
        ("imagenet/gmlp-ti16.arch", 5_867_328),
        ("imagenet/gmlp-s16.arch", 19_422_656),
        ("imagenet/gmlp-b16.arch", 73_075_392),
    ];

    /// <summary>The table as theory data: (spec, params).</summary>
    public static TheoryData<string, long> Theory()
    {
        var data = new TheoryData<string, long>();
        foreach (var (spec, count) in ImageNet) data.Add(spec, count);
        return data;
    }
}
