using System.IO.Enumeration;
using ArchDsl.Compiler;

namespace ArchDsl.Runtime.Data;

/// <summary>
/// The files of one split of an image folder in torchvision's <c>ImageFolder</c> layout: <c>split/&lt;class&gt;/…/&lt;image&gt;</c>,
/// classes the sorted (ordinal) sub-directory names, files found recursively in ordinal order of their paths, so the set
/// is the same on every machine. Only image extensions count (torchvision's IMG_EXTENSIONS that libvips reads); other
/// files are ignored and counted. The bad-data policy of the listing: an empty class folder is noted (kept in
/// <see cref="Notes"/>) and a zero-byte image listed (decoding it fails, so the data set skips and reports it with the
/// other unreadable files, <see cref="UnreadableImages"/>), or either is refused when strict; a class not among the
/// given training classes, no image at all, or an unreadable folder is always an error.
/// </summary>
public sealed class FolderIndex
{
    /// <summary>Image file extensions of a folder (lower case): the formats libvips reads here; <c>archc predict DIR</c> takes the same.</summary>
    public static readonly string[] Extensions = [".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".gif"];

    private FolderIndex(string root, IReadOnlyList<string> classes, FolderFiles files, IReadOnlyList<string> notes, int otherFiles,
                        IReadOnlyList<string> emptyClasses, IReadOnlyList<string> emptyFiles)
    {
        Root = root; Classes = classes; Files = files; Notes = notes; OtherFiles = otherFiles;
        EmptyClasses = emptyClasses; EmptyFiles = emptyFiles;
    }

    public string Root { get; }
    public IReadOnlyList<string> Classes { get; }
    /// <summary>The image files, held compactly (<see cref="FolderFiles"/>: a full path is made only when asked for).</summary>
    public FolderFiles Files { get; }
    /// <summary>Each file's class index, in file order.</summary>
    public int[] Labels => Files.Labels;
    /// <summary>What the listing noted, one line each (empty class folders).</summary>
    public IReadOnlyList<string> Notes { get; }
    /// <summary>Files without an image extension (ignored).</summary>
    public int OtherFiles { get; }
    public IReadOnlyList<string> EmptyClasses { get; }
    public IReadOnlyList<string> EmptyFiles { get; }

    /// <summary>The splits of <paramref name="root"/>: <c>train/</c> with <c>val/</c> (or <c>test/</c>) when present, else root itself is the training set.</summary>
    /// <exception cref="DataException">a missing or unreadable folder, no class folders or images, a val class not in train, or (strict) a skipped file or class.</exception>
    public static (FolderIndex Train, FolderIndex? Test) ScanSplits(string root, bool strict)
    {
        if (!Directory.Exists(root))
            throw new DataException($"image folder '{root}' does not exist; expected <root>/train/<class>/<image> (and <root>/val/<class>/<image>) or <root>/<class>/<image>");
        var (train, test) = ImageFolderLayout.Splits(root);
        if (test is null && train == root) return (Scan(root, null, strict), null);
        var trainIndex = Scan(train, null, strict);
        return (trainIndex, test is null ? null : Scan(test, trainIndex.Classes, strict));
    }

    /// <summary>One split; with <paramref name="classes"/> given (the training classes) its folders map onto those.</summary>
    public static FolderIndex Scan(string dir, IReadOnlyList<string>? classes, bool strict)
    {
        string[] dirs;
        try
        {
            dirs = ImageFolderLayout.Classes(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"image folder '{dir}' cannot be read: {e.Message}", e);
        }
        if (dirs.Length == 0)
            throw new DataException($"image folder '{dir}' has no class sub-directories; expected {dir}/<class>/<image>");
        var classNames = classes ?? dirs;
        var index = classNames.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        var unknown = ImageFolderLayout.Unknown(dirs, index.Keys);
        if (unknown.Count > 0) throw new DataException(ImageFolderLayout.UnknownMessage(dir, unknown, classNames.Count));
        string fullDir = Path.GetFullPath(dir);
        var files = new FolderFiles.Builder(fullDir, classNames);
        var notes = new List<string>();
        var emptyClasses = new List<string>();
        var emptyFiles = new List<string>();
        int other = 0;
        foreach (var d in dirs)
        {
            string classDir = Path.Combine(dir, d);
            int before = files.Count;
            foreach (var (relative, length) in ListImages(classDir, ref other))
            {
                if (length == 0) emptyFiles.Add(Path.Join(fullDir, d, relative));
                files.Add(index[d], relative);
            }
            if (files.Count == before) emptyClasses.Add(d);
        }
        if (files.Count == 0)
            throw new DataException($"image folder '{dir}' holds no images ({string.Join(", ", Extensions)})");
        if (emptyClasses.Count > 0) notes.Add($"{emptyClasses.Count} class folder(s) without images (the class keeps its index): {First(emptyClasses)}");
        if (strict && (notes.Count > 0 || emptyFiles.Count > 0))
            throw new DataException($"image folder '{dir}' (strict): " +
                string.Join("; ", notes.Prepend(emptyFiles.Count > 0 ? $"{emptyFiles.Count} zero-byte image file(s): {First(emptyFiles)}" : null).OfType<string>()));
        return new FolderIndex(dir, classNames, files.Build(), notes, other, emptyClasses, emptyFiles);
    }

    /// <summary>
    /// The image files under a class folder, recursively, as paths relative to it in ordinal order, with their lengths;
    /// files without an image extension are counted into <paramref name="other"/>. The directory entries are projected
    /// straight to (relative path, length): no FileInfo or full path is made per file, and only one class folder's
    /// names are held as strings at a time (they go into <see cref="FolderFiles"/> as UTF-8).
    /// </summary>
    private static List<(string Relative, long Length)> ListImages(string classDir, ref int other)
    {
        int others = 0;
        try
        {
            var entries = new FileSystemEnumerable<(string, long)>(classDir,
                (ref FileSystemEntry e) => (Path.Join(e.Directory[e.RootDirectory.Length..].TrimStart(Path.DirectorySeparatorChar), e.FileName), e.Length),
                new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false, AttributesToSkip = FileAttributes.Hidden })
            {
                ShouldIncludePredicate = (ref FileSystemEntry e) =>
                {
                    if (e.IsDirectory || e.FileName.StartsWith('.')) return false;
                    if (IsImage(e.FileName)) return true;
                    others++;
                    return false;
                },
            };
            var list = entries.ToList();
            list.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
            other += others;
            return list;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"class folder '{classDir}' cannot be read: {e.Message}", e);
        }
    }

    /// <summary>Whether a file name has one of the image <see cref="Extensions"/> (any case).</summary>
    public static bool IsImage(ReadOnlySpan<char> fileName)
    {
        var extension = Path.GetExtension(fileName);
        foreach (var e in Extensions)
            if (extension.Equals(e, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>The first few items, then how many more.</summary>
    public static string First(IReadOnlyCollection<string> items, int shown = 3) =>
        string.Join(", ", items.Take(shown).Select(i => $"'{i}'")) + (items.Count > shown ? $" and {items.Count - shown} more" : "");
}
