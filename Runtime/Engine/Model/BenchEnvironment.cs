namespace ArchDsl.Runtime.Model;

/// <summary>The PyTorch companion's environment in <c>archc bench</c>.</summary>
public enum BenchEnvironment
{
    /// <summary>This process's BLAS kernel (OPENBLAS_CORETYPE) and thread-pool settings: like for like.</summary>
    Same,
    /// <summary>The environment the user started archc with: PyTorch as it runs for that user by default.</summary>
    User,
}
