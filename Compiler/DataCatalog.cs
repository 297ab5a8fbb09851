namespace ArchDsl.Compiler;

/// <summary>
/// One data set the train key <c>data</c> may name, with the facts the compiler checks a spec against
/// (the runtime keeps the loaders). <see cref="Classes"/> and <see cref="Image"/> are null where the
/// data decides them at load time (<c>folder</c>) or takes them from the model (<c>synthetic</c>).
/// </summary>
/// <param name="Name">Canonical name, as written in specs and in the IR.</param>
/// <param name="Classes">Number of classes, or null (see above).</param>
/// <param name="Image">Image shape <c>[C, H, W]</c>, or null (see above).</param>
/// <param name="DefaultPath">Where the loader looks without a <c>path</c> (Debian's dataset packages); null: a path is required, or none is used.</param>
/// <param name="Aliases">Other spellings accepted for <see cref="Name"/>.</param>
/// <param name="TrainSamples">Images in the training set as published, or null (decided by the files or the config).</param>
public sealed record DataSet(string Name, int? Classes, Shape? Image, string? DefaultPath, IReadOnlyList<string> Aliases, int? TrainSamples = null);

/// <summary>The data sets of the train key <c>data</c>: one table, read by the compiler's checks and the runtime's loaders.</summary>
public static class DataCatalog
{
    /// <summary>Fashion-MNIST (Xiao et al. 2017): 10 classes of 1×28×28 images; Debian's <c>dataset-fashion-mnist</c> path.</summary>
    public static readonly DataSet FashionMnist = new("fashion-mnist", 10, Shape.Image(1, 28, 28), "/usr/share/datasets/fashion-mnist/",
        ["fashion_mnist", "fashionmnist"], 60_000);

    /// <summary>MNIST (LeCun et al. 1998): 10 classes of 1×28×28 images.</summary>
    public static readonly DataSet Mnist = new("mnist", 10, Shape.Image(1, 28, 28), "/usr/share/datasets/mnist/", [], 60_000);

    /// <summary>CIFAR-10 (Krizhevsky 2009): 10 classes of 3×32×32 images, the binary version (<c>cifar-10-batches-bin</c>).</summary>
    public static readonly DataSet Cifar10 = new("cifar10", 10, Shape.Image(3, 32, 32), "/usr/share/datasets/cifar10/", ["cifar-10", "cifar_10"], 50_000);

    /// <summary>CIFAR-100 (Krizhevsky 2009): 100 (fine) classes of 3×32×32 images, the binary version (<c>cifar-100-binary</c>).</summary>
    public static readonly DataSet Cifar100 = new("cifar100", 100, Shape.Image(3, 32, 32), "/usr/share/datasets/cifar100/", ["cifar-100", "cifar_100"], 50_000);

    /// <summary>An ImageFolder tree (torchvision's layout: one directory per class); classes and shape come from the files.</summary>
    public static readonly DataSet Folder = new("folder", null, null, null, ["image-folder", "imagefolder"]);

    /// <summary>Seeded class-pattern images sized by the model's input, one class per model output.</summary>
    public static readonly DataSet Synthetic = new("synthetic", null, null, null, []);

    /// <summary>Every data set, in documentation order.</summary>
    public static readonly IReadOnlyList<DataSet> All = [FashionMnist, Mnist, Cifar10, Cifar100, Folder, Synthetic];

    /// <summary>
    /// Named per-channel statistics (mean, std of pixel values in [0, 1]) that <c>normalize:</c> may name:
    /// <c>imagenet</c> is torchvision's / timm's IMAGENET_DEFAULT_MEAN/STD; <c>cifar10</c> and <c>cifar100</c> are the
    /// per-pixel statistics of their 50,000 training images (std over all pixels, not the per-image 0.2023 variant).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, (double[] Mean, double[] Std)> Statistics = new Dictionary<string, (double[], double[])>
    {
        ["imagenet"] = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ["cifar10"] = ([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]),
        ["cifar100"] = ([0.5071, 0.4865, 0.4409], [0.2673, 0.2564, 0.2762]),
    };

    /// <summary>timm's DEFAULT_CROP_PCT: evaluation resizes the shorter side to size / crop_pct, then center-crops size.</summary>
    public const double DefaultCropPct = 0.875;

    /// <summary>Training / test samples and noise level of <c>synthetic(…)</c> when not given.</summary>
    public const int SyntheticTrain = 4096, SyntheticTest = 1024;

    /// <inheritdoc cref="SyntheticTrain"/>
    public const double SyntheticNoise = 1.0;

    /// <summary>The data set a name or alias denotes (case-insensitive), or null.</summary>
    public static DataSet? Find(string name) => All.FirstOrDefault(d =>
        string.Equals(d.Name, name, StringComparison.OrdinalIgnoreCase) || d.Aliases.Contains(name, StringComparer.OrdinalIgnoreCase));

    /// <summary>
    /// Training and validation sizes of a training set of <paramref name="count"/> images: a run uses the first
    /// <paramref name="subset"/> of them (all when null or larger), and the validation split is that fraction of the
    /// images used — round(used × fraction), at least 1 and leaving at least 1 to train on — so a subset shrinks the
    /// validation split with the training part (subset 2,000 with val_split 0.1: 1,800 to train on, 200 to validate).
    /// Null when a split is asked of fewer than 2 images.
    /// </summary>
    public static (int Train, int Val)? SplitSizes(int count, double valFraction, int? subset)
    {
        int used = subset is int s ? Math.Min(count, s) : count;
        int val = 0;
        if (valFraction > 0)
        {
            if (used < 2) return null;
            val = Math.Clamp((int)Math.Round(used * valFraction), 1, used - 1);
        }
        return (used - val, val);
    }

    /// <summary>Splits <c>folder:/data/x</c> into a name and a path (null when none); the name is not looked up.</summary>
    public static (string Name, string? Path) SplitSource(string value)
    {
        value = value.Trim();
        int colon = value.IndexOf(':');
        string name = colon < 0 ? value : value[..colon].Trim();
        string? path = colon < 0 ? null : value[(colon + 1)..].Trim();
        return (name, string.IsNullOrEmpty(path) ? null : path);
    }
}
