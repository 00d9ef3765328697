# mistake: none: math.ceil and narrow
# expect: full
import math


class FourierHalf(nn.Module):
    def forward(self, X):
        keep = math.ceil(X.shape[-1] / 2)
        return torch.fft.fft(X).narrow(-1, 0, keep)
