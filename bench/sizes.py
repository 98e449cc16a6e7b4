"""The benchmark's shapes, per device type. The default set keeps ``pytest bench/`` to a few
minutes on a 2-core CPU; ``--bench-long`` adds the long sweeps."""

CPU = {
    "head": dict(T=512, B=8, N=512),  # every provider, every mode: the headline ratios
    "T": (256, 1024, 4096, 16384),  # B*N = 4096
    "T_long": (65536, 131072),
    "T_eager_max": 1024,  # the eager reference is timed up to this T (it takes seconds per call)
    "sweep_BN": dict(B=8, N=512),
    "BN": (1024, 10240, 102400),  # at T = 1024, N = 512
    "BN_long": (1048576,),
    "BN_T": 1024,
    "K": (8, 32, 128, 512),
    "features": 64,
}

CUDA = {
    "head": dict(T=1024, B=16, N=4096),
    "T": (256, 1024, 4096, 16384),  # B*N = 65536
    "T_long": (65536, 131072),
    "T_eager_max": 1024,
    "sweep_BN": dict(B=16, N=4096),
    "BN": (16384, 131072, 1048576),
    "BN_long": (4194304,),
    "BN_T": 1024,
    "K": (8, 32, 128, 512),
    "features": 256,
}


def sizes(device):
    return CUDA if device.type == "cuda" else CPU


def split_bn(bn, n_pref=512):
    """(B, N) with B*N = bn and N = n_pref where it divides (else N = bn)."""
    n = n_pref if bn % n_pref == 0 else bn
    return bn // n, n
