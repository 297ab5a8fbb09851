namespace ArchDsl.Compiler;

/// <summary>
/// torchvision's <c>ImageFolder</c> layout as ArchDsl reads it: <c>ROOT/train/&lt;class&gt;/…</c> with <c>ROOT/val/</c> (or
/// <c>test/</c>) as the test split, or <c>ROOT/&lt;class&gt;/…</c> alone; classes are the sorted folder names (dot-folders
/// left out), and a test split's classes must be training classes. One definition for the runtime's listing
/// (<c>FolderIndex</c>) and for <c>check</c> (AD0181, AD0391), so check says what train would.
/// </summary>
public static class ImageFolderLayout
{
    /// <summary>The folder of the training classes (<c>train/</c> when present, else the root) and the test split's, if any.</summary>
    public static (string Train, string? Test) Splits(string root)
    {
        var train = Path.Combine(root, "train");
        if (!Directory.Exists(train)) return (root, null);
        return (train, new[] { "val", "test" }.Select(s => Path.Combine(root, s)).FirstOrDefault(Directory.Exists));
    }

    /// <summary>The class folders of <paramref name="dir"/>, sorted ordinally (torchvision's <c>sorted(entry.name …)</c>).</summary>
    /// <exception cref="IOException">the folder cannot be listed.</exception>
    /// <exception cref="UnauthorizedAccessException">the folder cannot be listed.</exception>
    public static string[] Classes(string dir) =>
        Directory.GetDirectories(dir).Select(d => Path.GetFileName(d)!).Where(n => !n.StartsWith('.')).Order(StringComparer.Ordinal).ToArray();

    /// <summary>The folders of a test split that are no training class, in order.</summary>
    public static List<string> Unknown(IEnumerable<string> testClasses, IReadOnlyCollection<string> trainClasses) =>
        testClasses.Where(c => !trainClasses.Contains(c)).ToList();

    /// <summary>What train and check say of <see cref="Unknown"/> classes in <paramref name="dir"/>.</summary>
    public static string UnknownMessage(string dir, IReadOnlyList<string> unknown, int trainClasses) =>
        $"image folder '{dir}': class{(unknown.Count == 1 ? "" : "es")} {string.Join(", ", unknown.Select(u => $"'{u}'"))} " +
        $"{(unknown.Count == 1 ? "is" : "are")} not among the {trainClasses} training classes; its labels would mean nothing to the model";
}
