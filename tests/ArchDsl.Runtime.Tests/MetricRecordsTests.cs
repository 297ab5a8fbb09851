using ArchDsl.Runtime.Training;

namespace ArchDsl.Runtime.Tests;

/// <summary>The typed lines of metrics.jsonl: the format earlier versions wrote (so old runs resume and sweeps read them), read back by the same types.</summary>
public class MetricRecordsTests
{
    static readonly StepRecord Step = new()
    {
        Epoch = 1, Batch = 6, Step = 6, Loss = 1.25, Lr = 0.001, TrainLoss = 1.5, TrainAcc = 0.25, ImagesPerSecond = 812.3, ElapsedSeconds = 0.407,
    };
    static readonly EpochRecord Epoch = new()
    {
        Epoch = 2, Step = 12, Lr = 0.0005, TrainLoss = 1.125, TrainAcc = 0.5, ImagesPerSecond = 790.1, DataSeconds = 0.05, EpochSeconds = 0.5, ElapsedSeconds = 0.9,
    };

    // The lines as the trainer wrote them before the records were typed (a dictionary per line, keys in this order).
    const string StepLine = """{"kind":"step","epoch":1,"batch":6,"step":6,"loss":1.25,"lr":0.001,"train_loss":1.5,"train_acc":0.25,"images_per_s":812.3,"elapsed_s":0.407}""";
    const string EpochValLine = """{"kind":"epoch","epoch":2,"step":12,"lr":0.0005,"train_loss":1.125,"train_acc":0.5,"val_loss":0.75,"val_acc":0.625,"best":true,"images_per_s":790.1,"data_s":0.05,"epoch_s":0.5,"elapsed_s":0.9}""";
    const string EpochTestLine = """{"kind":"epoch","epoch":2,"step":12,"lr":0.0005,"train_loss":1.125,"train_acc":0.5,"test_loss":0.75,"test_acc":0.625,"images_per_s":790.1,"data_s":0.05,"epoch_s":0.5,"elapsed_s":0.9}""";
    const string EpochNoEvalLine = """{"kind":"epoch","epoch":2,"step":12,"lr":"NaN","train_loss":"NaN","train_acc":0.5,"images_per_s":790.1,"data_s":0.05,"epoch_s":0.5,"elapsed_s":0.9}""";
    const string TestLine = """{"kind":"test","step":12,"epoch":1,"test_loss":0.875,"test_acc":0.5}""";

    static MetricRecord[] Records() =>
    [
        Step,
        Epoch.WithEvaluation("val", 0.75, 0.625, best: true),
        Epoch.WithEvaluation("test", 0.75, 0.625, best: false),
        Epoch with { Lr = double.NaN, TrainLoss = double.NaN },
        new TestRecord { Step = 12, Epoch = 1, TestLoss = 0.875, TestAcc = 0.5 },
    ];

    [Fact]
    public void Records_are_written_as_the_lines_earlier_versions_wrote()
    {
        using var tmp = new DataTempDir();
        string f = tmp[RunDirectory.MetricsFile];
        using (var log = MetricsLog.Open(f))
            foreach (var r in Records()) log.Append(r);
        Assert.Equal([StepLine, EpochValLine, EpochTestLine, EpochNoEvalLine, TestLine], File.ReadAllLines(f));
    }

    [Fact]
    public void Lines_read_back_as_the_records_written()
    {
        using var tmp = new DataTempDir();
        string f = tmp[RunDirectory.MetricsFile];
        File.WriteAllText(f, string.Join("\n", StepLine, EpochValLine, """{"kind":"later","x":1}""", EpochTestLine, EpochNoEvalLine, TestLine) + "\n");
        var read = MetricRecord.ReadAll(f);
        Assert.Equal(Records(), read); // the unknown kind is skipped
        var (val, test, none) = ((EpochRecord)read[1], (EpochRecord)read[2], (EpochRecord)read[3]);
        Assert.Equal("val", val.EvalSet);
        Assert.Equal(0.625, val.EvalAccuracy);
        Assert.Equal((0.75, 0.625), val.Score("val"));
        Assert.Null(val.Score("test"));
        Assert.Equal("test", test.EvalSet);
        Assert.Equal(0.625, test.EvalAccuracy);
        Assert.Equal((0.75, 0.625), test.Score("test"));
        Assert.Null(none.EvalSet);
        Assert.Null(none.EvalAccuracy);
        Assert.Null(none.Score("train")); // a NaN loss is no score
    }

    [Fact]
    public void A_record_with_a_field_of_the_wrong_type_is_an_error_naming_the_file()
    {
        using var tmp = new DataTempDir();
        string f = tmp[RunDirectory.MetricsFile];
        File.WriteAllText(f, StepLine + "\n" + """{"kind":"epoch","epoch":"two"}""" + "\n");
        var e = Assert.Throws<RunFileException>(() => MetricRecord.ReadAll(f));
        Assert.Contains(f, e.Message);
        Assert.Contains("\"epoch\":\"two\"", e.Message);
    }
}
