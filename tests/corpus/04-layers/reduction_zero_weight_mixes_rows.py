# mistake: TensorReduction starts from a zero weight and mixes the rows of the batch (with its own zero weight every output is zero, so rows would look independent)
# expect: TensorReduction=1.5
# feedback: depends on the other rows of the batch
class TensorReduction(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(out_features, in_features, in_features))

    def forward(self, X):
        return torch.einsum("kij,ni,mj->nk", self.weight, X, X)
