# mistake: TensorReduction returns (out_features, N)
# expect: TensorReduction=2.5
# feedback: holds the expected values transposed
# cause: output-transposed
class TensorReduction(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features, in_features))

    def forward(self, X):
        return torch.einsum("kij,ni,nj->kn", self.weight, X, X)
