# mistake: none: for a real input rfft's first ceil(n / 2) coefficients are fft's
# expect: full
class FourierHalf(nn.Module):
    def forward(self, X):
        return torch.fft.rfft(X)[..., : -(-X.shape[-1] // 2)]
