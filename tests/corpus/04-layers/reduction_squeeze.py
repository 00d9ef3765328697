# mistake: TensorReduction squeezes its result, which drops the batch or output dimension when it is 1
# expect: TensorReduction=4.5
# feedback: has shape (2,), expected (1, 2)
class TensorReduction(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features, in_features))

    def forward(self, X):
        return torch.einsum("kij,ni,nj->nk", self.weight, X, X).squeeze()
