using ArchDsl.Runtime.Export;
using ArchDsl.Runtime.Model;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit.Abstractions;
using static ArchDsl.Runtime.Tests.ModelTestKit;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The exported ONNX model, checked by its real consumers: the ONNX checker (python3-onnx, full check) and ONNX Runtime.
/// For every model of <see cref="ExportPyTorchTests"/> (every op of the catalogue), ONNX Runtime's logits on [0, 1]
/// pixels equal ArchDsl's within 1e-4, at batch 4 and batch 1 (the batch dimension is dynamic).
/// </summary>
[Collection(TorchModelCollection.Name)]
public sealed class ExportOnnxTests(ITestOutputHelper output)
{
    const double LogitTol = 1e-4;

    [Fact]
    public void Exported_graphs_pass_the_checker_and_give_ArchDsls_logits_in_OnnxRuntime()
    {
        var root = Directory.CreateTempSubdirectory("archdsl-export-onnx-").FullName;
        try
        {
            var files = new List<string>();
            foreach (var (name, graph) in ExportPyTorchTests.Models)
            {
                using var scope = NewDisposeScope();
                var g = graph();
                var card = ExportPyTorchTests.Card(g);
                using var source = ExportSource.Of(ExportPyTorchTests.Model(g), card, "<test>");
                var dir = Path.Combine(root, name);
                var written = OnnxExporter.Write(source, dir);
                Assert.Equal(card.Classes, File.ReadAllLines(written[1]));
                files.Add(written[0]);
                using var session = new InferenceSession(written[0]);
                Assert.Equal([OnnxExporter.Input], session.InputMetadata.Keys);
                Assert.Equal([OnnxExporter.Output], session.OutputMetadata.Keys);
                foreach (var batch in new[] { 4, 1 })
                {
                    var x = ExportPyTorchTests.Pixels(g, batch, 5);
                    var expected = ExportPyTorchTests.Logits(source.Model, card, x);
                    var input = new DenseTensor<float>(x.data<float>().ToArray(), x.shape.Select(d => (int)d).ToArray());
                    using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExporter.Input, input)]);
                    var logits = results.Single().AsTensor<float>();
                    Assert.Equal(expected.shape.Select(d => (int)d), logits.Dimensions.ToArray());
                    var d = MaxAbsDiff(tensor(logits.ToArray(), expected.shape), expected);
                    output.WriteLine($"{name} batch {batch}: logits max |Δ| {d:g3} (max |logit| {MaxAbs(expected):g3})");
                    Assert.True(d <= LogitTol, $"{name} batch {batch}: ONNX Runtime's logits differ from ArchDsl's by {d:g4} > {LogitTol}");
                }
            }
            var checkedFiles = Python("check_onnx.py", [.. files]);
            output.WriteLine(checkedFiles);
            foreach (var f in files) Assert.Contains($"ok {f} opset {OnnxGraph.Opset}", checkedFiles);
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
