using System.Text;

namespace ArchDsl.Runtime.Data;

/// <summary>
/// The image files of one split of an image folder, held compactly so that memory does not grow with the image count
/// beyond a few bytes per file: one UTF-8 buffer of each file's path relative to its class folder, an int offset per
/// file into it and the file's class index (its label), so about 8 bytes plus the relative name per file — 100,000
/// files of <c>c3/012345.jpg</c> take about 1.8 MB where a <c>string[]</c> of their full paths took about 11 MB. A
/// file's full path (<c>Root/&lt;class folder&gt;/&lt;relative&gt;</c>, as the directory listing gave it) is made only
/// when it is asked for (<see cref="Path"/>: when a worker opens the file, or to report it).
/// </summary>
public sealed class FolderFiles
{
    private readonly byte[] _names;
    private readonly int[] _offsets;
    private readonly int[] _classes;

    private FolderFiles(string root, IReadOnlyList<string> folders, byte[] names, int[] offsets, int[] classes)
    {
        Root = root; Folders = folders; _names = names; _offsets = offsets; _classes = classes;
    }

    /// <summary>The split's directory (a full path).</summary>
    public string Root { get; }
    /// <summary>The class folder names, indexed by class (a class index is also the file's label).</summary>
    public IReadOnlyList<string> Folders { get; }
    public int Count => _classes.Length;
    /// <summary>Each file's class index (its label), in file order; the array is shared, not copied.</summary>
    public int[] Labels => _classes;

    /// <summary>The full path of file <paramref name="index"/>: Root, its class folder, its path inside that folder.</summary>
    public string Path(int index)
    {
        var folder = Folders[_classes[index]];
        int start = _offsets[index], length = _offsets[index + 1] - start;
        int chars = Encoding.UTF8.GetCharCount(_names.AsSpan(start, length));
        return string.Create(Root.Length + folder.Length + chars + 2, (Root, folder, _names, start, length), static (span, s) =>
        {
            s.Root.AsSpan().CopyTo(span);
            span[s.Root.Length] = System.IO.Path.DirectorySeparatorChar;
            var rest = span[(s.Root.Length + 1)..];
            s.folder.AsSpan().CopyTo(rest);
            rest[s.folder.Length] = System.IO.Path.DirectorySeparatorChar;
            Encoding.UTF8.GetChars(s._names.AsSpan(s.start, s.length), rest[(s.folder.Length + 1)..]);
        });
    }

    /// <summary>Collects the files of a split, class folder by class folder, in the listing's order.</summary>
    public sealed class Builder(string root, IReadOnlyList<string> folders)
    {
        private byte[] _names = new byte[4096];
        private int[] _offsets = new int[257];
        private int[] _classes = new int[256];
        private int _count, _bytes;

        public int Count => _count;

        /// <summary>Adds a file of class <paramref name="classIndex"/> by its path inside that class's folder.</summary>
        public void Add(int classIndex, string relative)
        {
            int length = Encoding.UTF8.GetByteCount(relative);
            if (_bytes + length > _names.Length) Array.Resize(ref _names, Math.Max(_names.Length * 2, _bytes + length));
            if (_count == _classes.Length) { Array.Resize(ref _classes, _classes.Length * 2); Array.Resize(ref _offsets, _classes.Length + 1); }
            _bytes += Encoding.UTF8.GetBytes(relative, _names.AsSpan(_bytes));
            _classes[_count++] = classIndex;
            _offsets[_count] = _bytes;
        }

        /// <summary>The files added, in arrays of their exact size.</summary>
        public FolderFiles Build() => new(root, folders, _names[.._bytes], _offsets[..(_count + 1)], _classes[.._count]);
    }
}
