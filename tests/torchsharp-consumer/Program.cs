using System.Reflection;
using System.Text.Json;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using static TorchSharp.torch;

// TorchSharpConsumer DIR…: for each export folder (ExportTorchSharpTests writes it), compiles its one .cs file alone
// with Roslyn against TorchSharp and the framework, builds the model with Model.Create(<stem>.safetensors) — a strict
// load — runs input.json's pixels ({"shape": [B, C, H, W], "data": [...]}) in eval mode and prints one JSON line
// {"dir", "shape", "logits"}. Any failure (TorchSharp's native library not loading included) exits 1 with the reason.
try
{
    var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
        .Select(p => MetadataReference.CreateFromFile(p)).ToList();
    foreach (var dir in args)
    {
        var source = Directory.GetFiles(dir, "*.cs").Single();
        var stem = Path.GetFileNameWithoutExtension(source);
        var tree = CSharpSyntaxTree.ParseText(File.ReadAllText(source), path: source);
        var compilation = CSharpCompilation.Create(stem, [tree], references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable)
                // As the .NET SDK does by default (NoWarn 1701;1702): TorchSharp is built against .NET 8's reference assemblies.
                .WithSpecificDiagnosticOptions([new("CS1701", ReportDiagnostic.Suppress), new("CS1702", ReportDiagnostic.Suppress)]));
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        var problems = emitted.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        if (!emitted.Success || problems.Count > 0)
            throw new InvalidOperationException($"{source} does not compile cleanly:\n{string.Join("\n", problems)}");
        var assembly = Assembly.Load(image.ToArray());
        var create = assembly.GetTypes().Single(t => t.Name == "Model").GetMethod("Create")!;
        using var model = (nn.Module<Tensor, Tensor>)create.Invoke(null, [Path.Combine(dir, stem + ".safetensors")])!;
        using var input = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "input.json")));
        var shape = input.RootElement.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        var data = input.RootElement.GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.call(tensor(data, shape));
        Console.WriteLine(JsonSerializer.Serialize(new { dir, shape = logits.shape, logits = logits.data<float>().ToArray() }));
    }
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"TorchSharpConsumer: {(e is TargetInvocationException { InnerException: { } inner } ? inner : e)}");
    return 1;
}
