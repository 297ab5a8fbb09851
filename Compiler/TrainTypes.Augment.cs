using System.Globalization;

namespace ArchDsl.Compiler;

/// <summary>
/// <c>color_jitter(brightness, contrast, saturation, hue)</c>, torchvision's <c>ColorJitter</c>: each of the first three draws a
/// factor uniformly in [max(0, 1 − s), 1 + s] (0: off), hue a shift uniformly in [−h, h] of the hue circle (h ≤ 0.5), and the
/// four are applied in a random order per image.
/// </summary>
public sealed record ColorJitterConfig(double Brightness, double Contrast, double Saturation, double Hue) : AugmentConfig;

/// <summary>
/// <c>rand_augment("rand-m9-mstd0.5-inc1")</c>: timm's <c>rand_augment_transform</c>. <see cref="Magnitude"/> on timm's 0..10
/// scale (<c>m</c>), <see cref="Ops"/> per image (<c>n</c>, default 2), <see cref="MagnitudeStd"/> the Gaussian noise on the
/// magnitude (<c>mstd</c>; +∞: uniform in [0, m]), <see cref="MagnitudeMax"/> its upper clip (<c>mmax</c>, default 10),
/// <see cref="Increasing"/> the "increasing" op set (<c>inc1</c>), <see cref="Probability"/> of applying each chosen op (<c>p</c>, 0.5).
/// </summary>
public sealed record TimmRandAugmentConfig(double Magnitude, int Ops, double MagnitudeStd, double MagnitudeMax, bool Increasing, double Probability, string Config)
    : AugmentConfig;

/// <summary>
/// <c>mixup(…)</c>: timm's <c>Mixup</c> in mode batch. With probability <see cref="Prob"/> a batch is mixed: by CutMix with
/// probability <see cref="SwitchProb"/> when both alphas are &gt; 0 (else whichever is), λ ~ Beta(α, α); the targets become
/// λ·onehot(y) + (1 − λ)·onehot(flip(y)) with <see cref="LabelSmoothing"/> (off = s / classes, on = 1 − s + off), trained with
/// soft-target cross-entropy. <see cref="CorrectLam"/>: λ is recomputed from the CutMix box after clipping to the image.
/// </summary>
public sealed record MixupConfig(double MixupAlpha, double CutmixAlpha, double Prob, double SwitchProb, string Mode, bool CorrectLam, double LabelSmoothing);

/// <summary>timm's RandAugment config strings (timm/data/auto_augment.py, <c>rand_augment_transform</c>).</summary>
public static class RandAugmentPolicy
{
    /// <summary>The magnitude scale of timm's level functions (<c>_LEVEL_DENOM</c>).</summary>
    public const double LevelDenominator = 10.0;

    /// <summary>The parsed config; <see cref="FormatException"/> with what is wrong when timm would refuse it.</summary>
    public static TimmRandAugmentConfig Parse(string config) =>
        TryParse(config, out var parsed) is { } error ? throw new FormatException($"rand_augment config \"{config}\": {error}") : parsed!;

    /// <summary>Parses <paramref name="config"/>; returns null when it is valid, otherwise what is wrong.</summary>
    public static string? TryParse(string config, out TimmRandAugmentConfig? parsed)
    {
        parsed = null;
        var sections = config.Split('-');
        if (sections[0] != "rand") return $"must start with 'rand', not '{sections[0]}'";
        double m = LevelDenominator, mstd = 0, mmax = LevelDenominator, p = 0.5;
        int n = 2;
        bool inc = false;
        foreach (var section in sections.Skip(1))
        {
            int digit = section.IndexOfAny("0123456789.".ToCharArray());
            if (digit <= 0) return $"section '{section}' is not a name followed by a number";
            string key = section[..digit], text = section[digit..];
            bool isNumber = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value);
            bool isInteger = int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var whole);
            switch (key)
            {
                case "m" when isNumber && value >= 0: m = value; break;
                case "n" when isInteger: n = whole; break;
                case "mstd" when isNumber && value >= 0: mstd = value > 100 ? double.PositiveInfinity : value; break; // timm: > 100 means uniform
                case "mmax" when isNumber && value > 0: mmax = value; break;
                case "inc" when isInteger && whole is 0 or 1: inc = whole == 1; break;
                case "p" when isNumber && value is >= 0 and <= 1: p = value; break;
                case "m" or "n" or "mstd" or "mmax" or "inc" or "p": return $"section '{section}' has an invalid value";
                default: return $"unknown section '{section}' (supported: m, n, mstd, mmax, inc, p; timm's op weights 'w' are not)";
            }
        }
        parsed = new TimmRandAugmentConfig(m, n, mstd, mmax, inc, p, config);
        return null;
    }
}
