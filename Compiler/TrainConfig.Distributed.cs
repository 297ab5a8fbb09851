namespace ArchDsl.Compiler;

public sealed partial record TrainConfig
{
    /// <summary>
    /// The train key <c>sync_bn</c>: in a data-parallel run, BatchNorm takes its training statistics over the global
    /// batch (every rank's images, as <c>torch.nn.SyncBatchNorm</c>); false (the default, as DDP): each rank's own.
    /// </summary>
    public bool SyncBatchNorm => this["sync_bn"] is true;
}
