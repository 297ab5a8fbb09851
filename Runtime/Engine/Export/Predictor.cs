using System.Text.Json.Serialization;
using ArchDsl.Runtime.Data;
using ArchDsl.Runtime.Training;
using ArchDsl.Compiler;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Export;

/// <summary>One image's top classes, most probable first (probabilities of the softmax over all logits).</summary>
public sealed record Prediction(string Image, IReadOnlyList<ClassScore> Top);

public sealed record ClassScore([property: JsonPropertyName("class")] string Class, double Probability);

/// <summary>An image <c>archc predict</c> could not prepare (unreadable, or of a size an in-memory run cannot take), and why.</summary>
public sealed record PredictionFailure(string Image, string Error);

/// <summary>The predictions of the images that could be prepared, in the order given, and the images that could not.</summary>
public sealed record PredictionReport(IReadOnlyList<Prediction> Predictions, IReadOnlyList<PredictionFailure> Failures);

/// <summary>
/// <c>archc predict</c>: a run's model (best checkpoint, else last) on image files, each prepared exactly as the run's
/// evaluation prepares its images — by the image-folder loader's decoder (<see cref="ImageDecoder"/>: channels converted
/// as in training, a grey image repeated for a colour model and a colour one made grey for a grey model, alpha dropped,
/// 16 bits to 8, EXIF orientation applied), the run's evaluation transform (a run on an image folder: resize by
/// crop_pct and center crop, or resize, <see cref="DataConfig.EvalTransform"/>; an in-memory set's run resizes nothing,
/// so its images must have the model's size) and the normalisation stored with the run (<see cref="ModelCard.Normalization"/>).
/// An image that cannot be prepared is reported with its path and the rest are predicted.
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
                    .Where(f => FolderIndex.IsImage(Path.GetFileName(f)) && !Path.GetFileName(f).StartsWith('.'))
                    .Order(StringComparer.Ordinal).ToList();
                if (found.Count == 0) throw new ExportException($"folder '{p}' holds no images ({string.Join(", ", FolderIndex.Extensions)})");
                files.AddRange(found);
            }
            else throw new ExportException($"no image or folder '{p}'");
        }
        return files;
    }

    /// <summary>The top <paramref name="k"/> classes of each image that can be prepared, in the order given; the others as failures.</summary>
    /// <exception cref="ExportException">k below 1, or the run's stored normalisation does not fit its input.</exception>
    public PredictionReport Predict(IReadOnlyList<string> images, int k)
    {
        if (k < 1) throw new ExportException($"--top must be at least 1, got {k}");
        k = Math.Min(k, Card.Classes.Length);
        var input = Card.Input;
        float[][] tables;
        try { Card.Normalization?.Validate(input.Channels); tables = ImageDecoder.Tables(input.Channels, Card.Normalization); }
        catch (DataException e) { throw new ExportException($"model.json: {e.Message}", e); }
        var predictions = new List<Prediction>(images.Count);
        var failures = new List<PredictionFailure>();
        int sample = input.Channels * input.Height * input.Width;
        var pixels = new float[(long)sample * Math.Min(Batch, images.Count)];
        var ready = new List<string>(Batch);
        for (var start = 0; start < images.Count; start += Batch)
        {
            ready.Clear();
            foreach (var file in images.Skip(start).Take(Batch))
            {
                try { Prepare(file, tables, pixels.AsSpan(ready.Count * sample, sample)); ready.Add(file); }
                catch (DataException e) { failures.Add(new PredictionFailure(file, e.Message)); }
            }
            if (ready.Count > 0) predictions.AddRange(Top(ready, pixels, k));
        }
        return new PredictionReport(predictions, failures);
    }

    /// <summary>The model's top-k classes of the first <c>files.Count</c> prepared images in <paramref name="pixels"/>.</summary>
    private IEnumerable<Prediction> Top(List<string> files, float[] pixels, int k)
    {
        var input = Card.Input;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = tensor(pixels.AsSpan(0, files.Count * input.Channels * input.Height * input.Width).ToArray(),
                       new long[] { files.Count, input.Channels, input.Height, input.Width });
        var (values, indices) = _source.Model.forward(x).softmax(1).topk(k, 1);
        var v = values.data<float>().ToArray();
        var ix = indices.data<long>().ToArray();
        return Enumerable.Range(0, files.Count).Select(i =>
            new Prediction(files[i], Enumerable.Range(0, k).Select(j => new ClassScore(Card.Classes[ix[i * k + j]], v[i * k + j])).ToList())).ToList();
    }

    /// <summary>One image decoded, transformed and normalised as the run's evaluation does, into <paramref name="dst"/> (C,H,W).</summary>
    /// <exception cref="DataException">the file cannot be read, or (an in-memory run) is not of the model's size.</exception>
    private void Prepare(string path, float[][] tables, Span<float> dst)
    {
        var input = Card.Input;
        var data = _source.Graph.Train.Data;
        ImageDecoder.BoxChooser box = data.Set == DataCatalog.Folder
            ? (w, h) => CropBoxes.For(data.EvalTransform, w, h, input.Height, input.Width, new DeterministicRandom(0))
            : (w, h) => w == input.Width && h == input.Height ? new CropBox(0, 0, w, h)
                : throw new DataException($"'{path}' is {w}×{h} pixels; the model takes {input.Width}×{input.Height} " +
                                          $"(the run trained on {data.Set.Name}, whose images are not resized: resize the image first)");
        ImageDecoder.Decode(path, box, input.Height, input.Width, tables, dst);
    }

    public void Dispose() => _source.Dispose();
}
