# mistake: FourierHalf uses rfft, which keeps n // 2 + 1 coefficients
# expect: FourierHalf=3
# feedback: holds the first n // 2 + 1 = 5 coefficients
# cause: one-coefficient-too-many
class FourierHalf(nn.Module):
    def forward(self, X):
        return torch.fft.rfft(X, dim=-1)
