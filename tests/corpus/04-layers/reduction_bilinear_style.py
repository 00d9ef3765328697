# mistake: none: F.bilinear(X, X, weight) is this very form
# expect: full
class TensorReduction(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features, in_features))

    def forward(self, X):
        return F.bilinear(X, X, self.weight)
