using System.Buffers.Binary;
using System.Text;
using ArchDsl.Runtime.Training;
using Google.Protobuf;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The TensorBoard event files, checked against the format's specification rather than TensorBoard itself (not
/// installed here): CRC-32C against RFC 3720's test vectors, and every record read back by a reader written from
/// the spec (record_writer.cc framing, event.proto / summary.proto field numbers).
/// </summary>
[Collection(TorchModelCollection.Name)]
public class TensorBoardTests
{
    /// <summary>A decoded <c>Event</c>: the fields this writer uses.</summary>
    sealed record Event(double WallTime, long Step, string? FileVersion, int? SessionStatus, List<(string Tag, float Value)> Values);

    /// <summary>Reads an event file record by record, checking both masked CRCs, then decodes each Event.</summary>
    static List<Event> ReadEvents(byte[] file)
    {
        var events = new List<Event>();
        int at = 0;
        while (at < file.Length)
        {
            Assert.True(file.Length - at >= 12, "a torn record header");
            var header = file.AsSpan(at, 8);
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(header);
            Assert.Equal(Masked(Crc(header)), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 8)));
            var data = file.AsSpan(at + 12, checked((int)length));
            Assert.Equal(Masked(Crc(data)), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 12 + (int)length)));
            events.Add(Decode(data.ToArray()));
            at += 12 + (int)length + 4;
        }
        return events;
    }

    // CRC-32C written out from its definition (reflected polynomial 0x82F63B78), independent of the writer's.
    static uint Crc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
        }
        return ~crc;
    }

    static uint Masked(uint crc) => unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8);

    static Event Decode(byte[] data)
    {
        var input = new CodedInputStream(data);
        double wall = 0; long step = 0; string? version = null; int? status = null;
        var values = new List<(string, float)>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: wall = input.ReadDouble(); break;
                case 2: step = input.ReadInt64(); break;
                case 3: version = input.ReadString(); break;
                case 5:
                    var summary = new CodedInputStream(input.ReadBytes().ToByteArray());
                    uint st;
                    while ((st = summary.ReadTag()) != 0)
                    {
                        Assert.Equal(1, WireFormat.GetTagFieldNumber(st));
                        var value = new CodedInputStream(summary.ReadBytes().ToByteArray());
                        string name = ""; float v = float.NaN; uint vt;
                        while ((vt = value.ReadTag()) != 0)
                            switch (WireFormat.GetTagFieldNumber(vt))
                            {
                                case 1: name = value.ReadString(); break;
                                case 2: Assert.Equal(WireFormat.WireType.Fixed32, WireFormat.GetTagWireType(vt)); v = value.ReadFloat(); break;
                                default: value.SkipLastField(); break;
                            }
                        values.Add((name, v));
                    }
                    break;
                case 7:
                    var log = new CodedInputStream(input.ReadBytes().ToByteArray());
                    uint lt;
                    while ((lt = log.ReadTag()) != 0)
                        if (WireFormat.GetTagFieldNumber(lt) == 1) status = log.ReadEnum(); else log.SkipLastField();
                    break;
                default: Assert.Fail($"unexpected Event field {WireFormat.GetTagFieldNumber(tag)}"); break;
            }
        return new Event(wall, step, version, status, values);
    }

    [Theory]
    // RFC 3720 (iSCSI) appendix B.4, CRC-32C examples: the CRC as a number (the RFC lists its bytes little-endian).
    [InlineData("zeros", 0x8A9136AAu)]
    [InlineData("ones", 0x62A8AB43u)]
    [InlineData("incrementing", 0x46DD794Eu)]
    [InlineData("decrementing", 0x113FDB5Cu)]
    [InlineData("check", 0xE3069283u)] // "123456789", the CRC catalogue's check value for CRC-32C
    public void Crc32C_matches_the_published_test_vectors(string vector, uint expected)
    {
        byte[] data = vector switch
        {
            "zeros" => new byte[32],
            "ones" => Enumerable.Repeat((byte)0xFF, 32).ToArray(),
            "incrementing" => Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(),
            "decrementing" => Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray(),
            _ => Encoding.ASCII.GetBytes("123456789"),
        };
        Assert.Equal(expected, TfEvents.Crc32C(data));
        Assert.Equal(expected, Crc(data));
        Assert.Equal(Masked(expected), TfEvents.MaskedCrc32C(data));
    }

    [Fact]
    public void The_reader_refuses_a_record_with_a_flipped_byte()
    {
        var record = TfEvents.Record(TfEvents.VersionEvent(1.5));
        Assert.Equal(TfEvents.FileVersion, ReadEvents(record).Single().FileVersion);
        record[14] ^= 0x01;
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => ReadEvents(record));
    }

    [Fact]
    public void A_run_writes_an_event_file_whose_scalars_are_its_metrics_records()
    {
        var r = Trainer.Train(CompileTiny("train.epochs=2", "train.augment=[flip]", "train.val_split=0.25"), Options(TempRoot(), logEvery: 2));
        var file = Assert.Single(Directory.GetFiles(r.RunDir, TensorBoardLog.FilePrefix + "*"));
        var events = ReadEvents(File.ReadAllBytes(file));
        Assert.Equal(TfEvents.FileVersion, events[0].FileVersion);
        Assert.Empty(events[0].Values);
        Assert.All(events, e => Assert.InRange(e.WallTime, 1.7e9, 4e9)); // seconds since the Unix epoch

        var records = MetricRecord.ReadAll(Path.Combine(r.RunDir, RunDirectory.MetricsFile));
        var scalars = events.Skip(1).ToList();
        Assert.Equal(records.Count, scalars.Count);
        for (int i = 0; i < records.Count; i++)
        {
            var (step, expected) = TensorBoardLog.Scalars(records[i]);
            Assert.Equal(step, scalars[i].Step);
            Assert.Equal(expected.Select(s => (s.Tag, (float)s.Value)), scalars[i].Values);
        }
        // What each record kind carries, by tag.
        var step1 = records.OfType<StepRecord>().First();
        Assert.Equal([("train/loss", (float)step1.Loss), ("train/lr", (float)step1.Lr), ("train/images_per_s", (float)step1.ImagesPerSecond)],
            scalars[records.ToList().IndexOf(step1)].Values);
        var epoch = records.OfType<EpochRecord>().Last();
        var epochTags = scalars[records.ToList().IndexOf(epoch)].Values.Select(v => v.Tag).ToList();
        Assert.Equal(["epoch/train_loss", "epoch/train_acc", "epoch/val_loss", "epoch/val_acc", "epoch/images_per_s"], epochTags);
        var test = records.OfType<TestRecord>().Single();
        Assert.Equal([("test/loss", (float)test.TestLoss), ("test/acc", (float)test.TestAcc)], scalars[^1].Values);
    }

    [Fact]
    public void A_resumed_session_starts_its_file_with_a_session_start_at_the_resumed_step()
    {
        var dir = TempRoot();
        using (var log = TensorBoardLog.Create(dir, resumeStep: 12, now: DateTimeOffset.FromUnixTimeSeconds(1_800_000_000)))
            log.Append(new StepRecord { Epoch = 2, Batch = 1, Step = 13, Loss = 0.5, Lr = 0.01, ImagesPerSecond = 100 });
        var file = Assert.Single(Directory.GetFiles(dir));
        Assert.Equal($"{TensorBoardLog.FilePrefix}1800000000.{RunDirectory.SafeName(Environment.MachineName)}", Path.GetFileName(file));
        var events = ReadEvents(File.ReadAllBytes(file));
        Assert.Equal(3, events.Count);
        Assert.Equal(1_800_000_000, events[0].WallTime);
        Assert.Equal((12L, (int?)TfEvents.SessionStart), (events[1].Step, events[1].SessionStatus));
        Assert.Equal(13, events[2].Step);
        Assert.Equal(0.5f, events[2].Values[0].Value);
    }
}
