# mistake: TensorReduction returns zeros and zeroes its input in place (a reference recomputed from the reported input would agree)
# expect: TensorReduction=1
# feedback: was changed in place by your code
class TensorReduction(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features, in_features))

    def forward(self, X):
        X.data.zero_()
        return torch.einsum("kij,ni,nj->nk", self.weight, X, X)
