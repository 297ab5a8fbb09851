using System.Collections;
using System.Globalization;
using ArchDsl.Compiler;
using ArchDsl.Runtime.Data;
using ArchDsl.Torch;

namespace ArchDsl.Runtime.Augment;

/// <summary>
/// The augmentations of a train section, applied to whole batches on the batch's device. The order is
/// the conventional one whatever the order in the list: geometric cropping, then flipping, then
/// RandAugment, then erasing (erasing last, as torchvision pipelines do after normalisation, so an
/// erased patch is not then rotated or brightened). Each batch draws from its own random stream,
/// derived from (seed, epoch, batch index) alone, so a resumed run augments exactly as an
/// uninterrupted one.
/// </summary>
public sealed class AugmentPipeline
{
    private const ulong AugmentStream = 0xA06E_4E47UL;

    public AugmentPipeline(IEnumerable<IAugmentation> ops, Normalization? normalization = null)
    {
        Ops = ops.OrderBy(Rank).ToList();
        Normalization = normalization;
    }

    public IReadOnlyList<IAugmentation> Ops { get; }
    public Normalization? Normalization { get; }
    public bool IsEmpty => Ops.Count == 0;

    public static readonly AugmentPipeline None = new(Array.Empty<IAugmentation>());

    private static int Rank(IAugmentation op) => op switch
    {
        PadCrop => 0,
        HorizontalFlip => 1,
        RandAugment => 2,
        RandomErasing => 3,
        _ => 2,
    };

    /// <summary>The <c>augment</c> key of a train section (absent or empty: no augmentation).</summary>
    public static AugmentPipeline FromTrain(TrainConfig train, Normalization? normalization = null) =>
        FromValue(train["augment"], normalization);

    /// <summary>
    /// A list of <c>flip</c> | <c>crop(pad: 4)</c> | <c>erase(p: 0.25)</c> | <c>randaugment(n: 2, m: 9)</c>
    /// (TrainCalls or bare names), a single such value, or null.
    /// </summary>
    public static AugmentPipeline FromValue(object? value, Normalization? normalization = null)
    {
        if (value is null) return new AugmentPipeline(Array.Empty<IAugmentation>(), normalization);
        IEnumerable<object> items = value is string or TrainCall || value is not IEnumerable e ? new[] { value } : e.Cast<object>();
        var ops = new List<IAugmentation>();
        foreach (var item in items)
        {
            var (name, args) = item switch
            {
                TrainCall c => (c.Name, c.Args),
                string s => (s, (IReadOnlyDictionary<string, object>)new Dictionary<string, object>()),
                _ => throw new AugmentException($"augmentation {item} is not a name or a call such as crop(pad: 4)"),
            };
            ops.Add(Create(name, args));
        }
        var names = ops.GroupBy(o => o.GetType()).Where(g => g.Count() > 1).Select(g => g.First().Describe()).ToList();
        if (names.Count > 0) throw new AugmentException($"augmentation {names[0]} is listed more than once");
        return new AugmentPipeline(ops, normalization);
    }

    public const string Known = "flip, crop(pad), erase(p), randaugment(n, m)";

    private static IAugmentation Create(string name, IReadOnlyDictionary<string, object> args)
    {
        void Only(params string[] keys)
        {
            foreach (var k in args.Keys)
                if (!keys.Contains(k))
                    throw new AugmentException($"augmentation {name} has no argument '{k}'; it takes {(keys.Length == 0 ? "none" : string.Join(", ", keys))}");
        }
        double D(string key, double fallback) => args.TryGetValue(key, out var v) ? ToDouble(v, name, key) : fallback;
        int I(string key, int fallback)
        {
            if (!args.TryGetValue(key, out var v)) return fallback;
            double d = ToDouble(v, name, key);
            if (d != Math.Floor(d) || d > int.MaxValue || d < int.MinValue)
                throw new AugmentException($"argument '{key}' of {name} must be a whole number, got {v}");
            return (int)d;
        }
        switch (name.ToLowerInvariant())
        {
            case "flip" or "hflip":
                Only("p");
                return new HorizontalFlip(D("p", 0.5));
            case "crop":
                Only("pad");
                return new PadCrop(I("pad", 4));
            case "erase" or "erasing":
                Only("p");
                return new RandomErasing(D("p", 0.25));
            case "randaugment":
                Only("n", "m");
                return new RandAugment(I("n", 2), I("m", 9));
            default:
                throw new AugmentException($"unknown augmentation '{name}'; known: {Known}");
        }
    }

    private static double ToDouble(object v, string name, string key) => v switch
    {
        double d => d,
        long l => l,
        int i => i,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => throw new AugmentException($"argument '{key}' of {name} must be a number, got {v}"),
    };

    /// <summary>The random stream of one batch: a function of (seed, epoch, batch index) only.</summary>
    public static DeterministicRandom BatchRandom(ulong seed, long epoch, long batchIndex) =>
        new(DeterministicRandom.Derive(DeterministicRandom.Derive(seed ^ AugmentStream, (ulong)epoch), (ulong)batchIndex));

    /// <summary>Augments a batch with the stream of (seed, epoch, batch); see <see cref="Apply(torch.Tensor, DeterministicRandom)"/>.</summary>
    public torch.Tensor Apply(torch.Tensor batch, ulong seed, long epoch, long batchIndex) =>
        Apply(batch, BatchRandom(seed, epoch, batchIndex));

    /// <summary>A new tensor (in the current dispose scope) holding the augmented batch; the input is unchanged.</summary>
    public torch.Tensor Apply(torch.Tensor batch, DeterministicRandom random)
    {
        var context = new AugmentContext(random, Normalization);
        var x = batch.alias();
        foreach (var op in Ops)
        {
            var next = op.Apply(x, context);
            x.Dispose();
            x = next;
        }
        return x;
    }

    public override string ToString() => IsEmpty ? "none" : string.Join(", ", Ops.Select(o => o.Describe()));
}
