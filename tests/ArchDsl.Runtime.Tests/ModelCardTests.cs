using ArchDsl.Runtime.Training;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;

namespace ArchDsl.Runtime.Tests;

[Collection(TorchModelCollection.Name)]
public class ModelCardTests
{
    [Fact]
    public void A_run_records_its_input_normalisation_classes_spec_and_overrides_in_model_json()
    {
        string[] overrides = ["train.epochs=1", "train.augment=[flip]"];
        var result = Trainer.Train(CompileTiny(overrides), Options(TempRoot()) with { Overrides = overrides });
        var card = ModelCard.Read(result.RunDir);

        Assert.Equal(ModelCard.FormatName, card.Format);
        Assert.Equal("Tiny", card.Arch);
        Assert.Equal(("NCHW", "float32", 1, 8, 8), (card.Input.Layout, card.Input.Dtype, card.Input.Channels, card.Input.Height, card.Input.Width));
        Assert.Equal(4, card.Classes.Length);
        Assert.Equal(TinySpec, card.Spec);
        Assert.Equal(overrides, card.Overrides);
        // The normalisation is the one the run trained with (the checkpoint's own record of it).
        var state = Checkpoint.ReadState(Path.Combine(result.RunDir, "checkpoints/last.safetensors"));
        Assert.Equal(state.NormalizationMean, card.Normalization!.Mean);
        Assert.Equal(state.NormalizationStd, card.Normalization.Std);
        // No val split, so no best checkpoint (best is selected on val only): the weights are the last checkpoint's.
        Assert.Null(result.BestEpoch);
        Assert.False(File.Exists(Path.Combine(result.RunDir, "checkpoints/best.safetensors")));
        Assert.Equal(Path.Combine(result.RunDir, "checkpoints/last.safetensors"), card.WeightsPath(result.RunDir));
    }

    [Fact]
    public void A_directory_without_model_json_or_checkpoint_is_a_clear_error()
    {
        var dir = TempRoot();
        var e = Assert.Throws<TrainingException>(() => ModelCard.Read(dir));
        Assert.Contains("has no model.json", e.Message);
        e = Assert.Throws<TrainingException>(() => new ModelCard().WeightsPath(dir));
        Assert.Contains("has no checkpoint", e.Message);
    }

    [Fact]
    public void Class_names_are_padded_to_the_models_logits()
    {
        Assert.Equal(["a", "b", "class_2"], ModelCard.ClassNames(["a", "b"], 3));
    }
}
