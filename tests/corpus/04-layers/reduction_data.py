# mistake: TensorReduction uses self.weight.data in forward, so the weight gets no gradient
# expect: TensorReduction=5
# feedback: no gradient reached the Parameter TensorReduction.weight
# cause: no-gradient-to-parameter
class TensorReduction(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features, in_features))

    def forward(self, X):
        return torch.einsum("kij,ni,nj->nk", self.weight.data, X, X)
