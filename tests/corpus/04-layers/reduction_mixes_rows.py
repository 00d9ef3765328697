# mistake: TensorReduction's loop mixes the rows of the batch
# expect: TensorReduction=1.5
# feedback: depends on the other rows of the batch
class TensorReduction(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features, in_features))

    def forward(self, X):
        out = []
        for k in range(self.weight.shape[0]):
            out.append((X @ self.weight[k] @ X.T).sum(dim=1))
        return torch.stack(out, dim=1)
