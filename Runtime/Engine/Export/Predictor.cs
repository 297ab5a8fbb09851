using System.Text.Json.Serialization;
using ArchDsl.Runtime.Data;
using ArchDsl.Runtime.Training;
using NetVips;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Export;

/// <summary>One image's top classes, most probable first (probabilities of the softmax over all logits).</summary>
public sealed record Prediction(string Image, IReadOnlyList<ClassScore> Top);

public sealed record ClassScore([property: JsonPropertyName("class")] string Class, double Probability);

/// <summary>
/// <c>archc predict</c>: a run's model (best checkpoint, else last) on image files, with the run's eval transform —
/// which is its normalisation only (<see cref="Dataset.NormalizeInPlace"/>, the data path's own; ArchDsl trains on
/// images of one size and resizes nothing). Images are decoded by libvips (NetVips): 8-bit, or 16-bit reduced to
/// 8 bits; alpha dropped; a grey image repeated in three channels for a colour model (as the image-folder loader
/// does); pixels v / 255.
/// </summary>
public sealed class Predictor : IDisposable
{
    private const int Batch = 256;

    private readonly ExportSource _source;
    private Predictor(ExportSource source) => _source = source;

    public ModelCard Card => _source.Card;

    /// <exception cref="ExportException">no run, no model.json, no checkpoint or one that does not fit.</exception>
    public static Predictor Open(string runDir) => new(ExportSource.FromRun(runDir));

    /// <summary>The image files of <paramref name="paths"/>: files as given, folders' images (recursively) in ordinal order.</summary>
    /// <exception cref="ExportException">a path that does not exist, or a folder with no images.</exception>
    public static IReadOnlyList<string> ImageFiles(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var p in paths)
        {
            if (File.Exists(p)) files.Add(p);
            else if (Directory.Exists(p))
            {
                var found = Directory.GetFiles(p, "*", SearchOption.AllDirectories)
                    .Where(f => FolderIndex.Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()) && !Path.GetFileName(f).StartsWith('.'))
                    .Order(StringComparer.Ordinal).ToList();
                if (found.Count == 0) throw new ExportException($"folder '{p}' holds no images ({string.Join(", ", FolderIndex.Extensions)})");
                files.AddRange(found);
            }
            else throw new ExportException($"no image or folder '{p}'");
        }
        return files;
    }

    /// <summary>The top <paramref name="k"/> classes of each image, in the order given.</summary>
    /// <exception cref="ExportException">an unreadable image, or one of another channel count or size than the model takes (the message names the file).</exception>
    public IReadOnlyList<Prediction> Predict(IReadOnlyList<string> images, int k)
    {
        if (k < 1) throw new ExportException($"--top must be at least 1, got {k}");
        k = Math.Min(k, Card.Classes.Length);
        var result = new List<Prediction>(images.Count);
        for (var start = 0; start < images.Count; start += Batch)
        {
            var chunk = images.Skip(start).Take(Batch).ToList();
            var set = Load(chunk);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var x = tensor(set.Images, new long[] { set.Count, set.Channels, set.Height, set.Width });
            var probs = _source.Model.forward(x).softmax(1);
            var (values, indices) = probs.topk(k, 1);
            var v = values.data<float>().ToArray();
            var ix = indices.data<long>().ToArray();
            for (var i = 0; i < chunk.Count; i++)
                result.Add(new Prediction(chunk[i], Enumerable.Range(0, k).Select(j => new ClassScore(Card.Classes[ix[i * k + j]], v[i * k + j])).ToList()));
        }
        return result;
    }

    /// <summary>The images as a normalised <see cref="Dataset"/> (labels unused).</summary>
    private Dataset Load(IReadOnlyList<string> files)
    {
        var input = Card.Input;
        int plane = input.Height * input.Width, sample = input.Channels * plane;
        var pixels = new float[(long)sample * files.Count];
        for (var i = 0; i < files.Count; i++)
        {
            var (bytes, bands) = Decode(files[i]);
            for (var c = 0; c < input.Channels; c++)
                for (var p = 0; p < plane; p++)
                    pixels[(long)i * sample + c * plane + p] = Dataset.ByteToUnit[bytes[p * bands + (bands == 1 ? 0 : c)]];
        }
        var set = new Dataset(pixels, new int[files.Count], input.Channels, input.Height, input.Width, Card.Classes, "images");
        try { if (Card.Normalization is { } n) set.NormalizeInPlace(n); }
        catch (DataException e) { throw new ExportException($"model.json: {e.Message}", e); }
        return set;
    }

    /// <summary>An image's 8-bit samples in H, W, C order, and its band count (1 or the model's channels).</summary>
    private (byte[] Bytes, int Bands) Decode(string path)
    {
        var input = Card.Input;
        try
        {
            using var image = Image.NewFromFile(path, access: Enums.Access.Sequential);
            var im = image;
            var toDispose = new List<Image>();
            try
            {
                if (im.HasAlpha()) toDispose.Add(im = im.ExtractBand(0, n: im.Bands - 1));
                if (im.Format != Enums.BandFormat.Uchar) toDispose.Add(im = im.Cast(Enums.BandFormat.Uchar, shift: true));
                if (im.Bands != 1 && im.Bands != input.Channels)
                    throw new ExportException($"'{path}' has {im.Bands} channels; the model takes {input.Channels} ({(input.Channels == 1 ? "grey" : "colour")} images)");
                if (im.Width != input.Width || im.Height != input.Height)
                    throw new ExportException($"'{path}' is {im.Width}×{im.Height} pixels; the model takes {input.Width}×{input.Height} (the run resizes nothing: resize the image first)");
                return (im.WriteToMemory(), im.Bands);
            }
            finally { foreach (var d in toDispose) d.Dispose(); }
        }
        catch (VipsException e) { throw new ExportException($"'{path}' is not an image libvips can read: {e.Message.Trim()}", e); }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException)
        {
            throw new ExportException($"libvips (NetVips.Native) could not be loaded, so images cannot be read: {e.InnerException?.Message ?? e.Message}", e);
        }
    }

    public void Dispose() => _source.Dispose();
}
