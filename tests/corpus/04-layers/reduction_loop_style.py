# mistake: none: a loop over the batch with a quadratic form per example
# expect: full
class TensorReduction(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(out_features, in_features, in_features) * 0.1)

    def forward(self, X):
        rows = []
        for x in X:
            rows.append(torch.stack([x @ W @ x for W in self.weight]))
        return torch.stack(rows)
