# mistake: FourierHalf keeps n // 2 coefficients, too few for odd n
# expect: FourierHalf=4
# feedback: n // 2 rounds down
# cause: floor-half
class FourierHalf(nn.Module):
    def forward(self, X):
        return torch.fft.fft(X, dim=-1)[..., : X.shape[-1] // 2]
