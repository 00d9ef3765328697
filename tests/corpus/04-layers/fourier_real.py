# mistake: FourierHalf returns magnitudes, a real dtype
# expect: FourierHalf=1
# feedback: the coefficients are complex numbers
class FourierHalf(nn.Module):
    def forward(self, X):
        n = X.shape[-1]
        return torch.fft.fft(X, dim=-1)[..., : (n + 1) // 2].abs()
