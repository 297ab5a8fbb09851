using System.Buffers.Binary;
using System.Numerics;
using Google.Protobuf;

namespace ArchDsl.Runtime.Training;

/// <summary>
/// The TensorBoard event-file format (<c>events.out.tfevents.*</c>), as TensorFlow defines it: a file of records,
/// each <c>uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)</c> (little-endian;
/// tensorflow/core/lib/io/record_writer.cc), whose data is a serialised <c>tensorflow.Event</c>
/// (tensorflow/core/util/event.proto): <c>wall_time</c> = 1 (double, seconds since the Unix epoch), <c>step</c> = 2
/// (int64), <c>file_version</c> = 3 (string, "brain.Event:2" in the first record), <c>summary</c> = 5
/// (<c>Summary { repeated Value value = 1 }</c>, <c>Value { string tag = 1; float simple_value = 2 }</c>),
/// <c>session_log</c> = 7 (<c>SessionLog { SessionStatus status = 1 }</c>, START = 1). The messages are encoded
/// by hand with Google.Protobuf's <see cref="CodedOutputStream"/>.
/// </summary>
public static class TfEvents
{
    public const string FileVersion = "brain.Event:2";
    /// <summary>SessionLog.SessionStatus.START: TensorBoard drops the events at this step and after from earlier files (a restart).</summary>
    public const int SessionStart = 1;

    /// <summary>CRC-32C (Castagnoli, reflected, initial and final XOR 0xFFFFFFFF; RFC 3720 appendix B.4) of <paramref name="data"/>.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (var b in data) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    /// <summary>The masked CRC TensorFlow stores (tensorflow/core/lib/hash/crc32c.h, <c>Mask</c>): rotate right by 15, add 0xa282ead8.</summary>
    public static uint MaskedCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = Crc32C(data);
        return unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8u);
    }

    /// <summary>One framed record holding <paramref name="data"/>.</summary>
    public static byte[] Record(ReadOnlySpan<byte> data)
    {
        var record = new byte[8 + 4 + data.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(record, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), MaskedCrc32C(record.AsSpan(0, 8)));
        data.CopyTo(record.AsSpan(12));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12 + data.Length), MaskedCrc32C(data));
        return record;
    }

    /// <summary>An <c>Event</c> with <c>file_version</c> (the first record of a file).</summary>
    public static byte[] VersionEvent(double wallTime) =>
        Event(wallTime, 0, o => { o.WriteTag(3, WireFormat.WireType.LengthDelimited); o.WriteString(FileVersion); });

    /// <summary>An <c>Event</c> with a <c>session_log</c> of <paramref name="status"/>.</summary>
    public static byte[] SessionLogEvent(double wallTime, long step, int status) =>
        Event(wallTime, step, o => { o.WriteTag(7, WireFormat.WireType.LengthDelimited); o.WriteBytes(Message(m => { m.WriteTag(1, WireFormat.WireType.Varint); m.WriteEnum(status); })); });

    /// <summary>An <c>Event</c> with a <c>summary</c> of scalar values (<c>simple_value</c> is a float32, as TensorBoard stores it).</summary>
    public static byte[] ScalarEvent(double wallTime, long step, IEnumerable<(string Tag, double Value)> scalars) =>
        Event(wallTime, step, o =>
        {
            o.WriteTag(5, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(Message(summary =>
            {
                foreach (var (tag, value) in scalars)
                {
                    summary.WriteTag(1, WireFormat.WireType.LengthDelimited);
                    summary.WriteBytes(Message(v =>
                    {
                        v.WriteTag(1, WireFormat.WireType.LengthDelimited); v.WriteString(tag);
                        v.WriteTag(2, WireFormat.WireType.Fixed32); v.WriteFloat((float)value);
                    }));
                }
            }));
        });

    static byte[] Event(double wallTime, long step, Action<CodedOutputStream> what) => MessageBytes(o =>
    {
        o.WriteTag(1, WireFormat.WireType.Fixed64); o.WriteDouble(wallTime);
        if (step != 0) { o.WriteTag(2, WireFormat.WireType.Varint); o.WriteInt64(step); }
        what(o);
    });

    static ByteString Message(Action<CodedOutputStream> write) => ByteString.CopyFrom(MessageBytes(write));

    static byte[] MessageBytes(Action<CodedOutputStream> write)
    {
        using var ms = new MemoryStream();
        using (var o = new CodedOutputStream(ms, leaveOpen: true)) write(o);
        return ms.ToArray();
    }

}

/// <summary>
/// A run's TensorBoard scalars, written beside <c>metrics.jsonl</c> as its records are appended (one event file per
/// training session, <c>events.out.tfevents.&lt;unix seconds&gt;.&lt;host&gt;</c>, so <c>tensorboard --logdir runs</c>
/// shows each run). A resumed session's file starts with a SessionLog START at the step it resumes from, so
/// TensorBoard drops what an earlier file logged after the checkpoint, as <c>metrics.jsonl</c> is cut back.
/// Tags: <c>train/loss</c> (the logged step's batch loss), <c>train/lr</c>, <c>train/images_per_s</c> at logged
/// steps; <c>epoch/{train,val,test}_{loss,acc}</c> and <c>epoch/images_per_s</c> at each epoch's last step;
/// <c>test/loss</c>, <c>test/acc</c> for the selected weights' final test evaluation. Accuracies are fractions.
/// </summary>
public sealed class TensorBoardLog : IDisposable
{
    public const string FilePrefix = "events.out.tfevents.";
    private readonly FileStream _stream;

    private TensorBoardLog(FileStream stream) => _stream = stream;

    public string Path => _stream.Name;

    /// <summary>A new event file in <paramref name="runDir"/>; <paramref name="resumeStep"/> (a resume) adds the SessionLog START.</summary>
    /// <exception cref="RunFileException">the file cannot be created.</exception>
    public static TensorBoardLog Create(string runDir, long? resumeStep, DateTimeOffset? now = null)
    {
        var t = now ?? DateTimeOffset.UtcNow;
        var name = $"{FilePrefix}{t.ToUnixTimeSeconds()}.{RunDirectory.SafeName(Environment.MachineName)}";
        var path = System.IO.Path.Combine(runDir, name);
        for (int i = 2; File.Exists(path); i++) path = System.IO.Path.Combine(runDir, $"{name}.{i}");
        try
        {
            var log = new TensorBoardLog(new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read));
            double wall = t.ToUnixTimeMilliseconds() / 1000.0;
            log.Write(TfEvents.VersionEvent(wall));
            if (resumeStep is { } step) log.Write(TfEvents.SessionLogEvent(wall, step, TfEvents.SessionStart));
            return log;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RunFileException(path, $"could not create TensorBoard event file '{path}': {e.Message}", e);
        }
    }

    /// <summary>The scalars of <paramref name="record"/> as one event at its step (none for a record without numbers).</summary>
    public void Append(MetricRecord record, DateTimeOffset? now = null)
    {
        var (step, scalars) = Scalars(record);
        var finite = scalars.Where(s => double.IsFinite(s.Value)).ToList();
        if (finite.Count == 0) return;
        Write(TfEvents.ScalarEvent((now ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds() / 1000.0, step, finite));
    }

    /// <summary>(step, (tag, value)…) of a metrics record, the tags as <see cref="TensorBoardLog"/> lists them.</summary>
    public static (long Step, IReadOnlyList<(string Tag, double Value)> Scalars) Scalars(MetricRecord record)
    {
        var list = new List<(string, double)>();
        void Add(string tag, double? v) { if (v is double d) list.Add((tag, d)); }
        switch (record)
        {
            case StepRecord s:
                Add("train/loss", s.Loss); Add("train/lr", s.Lr); Add("train/images_per_s", s.ImagesPerSecond);
                return (s.Step, list);
            case EpochRecord e:
                Add("epoch/train_loss", e.TrainLoss); Add("epoch/train_acc", e.TrainAcc);
                Add("epoch/val_loss", e.ValLoss); Add("epoch/val_acc", e.ValAcc);
                Add("epoch/test_loss", e.TestLoss); Add("epoch/test_acc", e.TestAcc);
                Add("epoch/images_per_s", e.ImagesPerSecond);
                return (e.Step, list);
            case TestRecord t:
                Add("test/loss", t.TestLoss); Add("test/acc", t.TestAcc);
                return (t.Step, list);
            default:
                return (0, list);
        }
    }

    private void Write(byte[] eventBytes)
    {
        _stream.Write(TfEvents.Record(eventBytes));
        _stream.Flush(flushToDisk: false);
    }

    public void Dispose() => _stream.Dispose();
}
