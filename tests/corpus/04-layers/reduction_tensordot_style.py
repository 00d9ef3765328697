# mistake: none: tensordot over i, then a product and a sum over j
# expect: full
class TensorReduction(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features, in_features))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, X):
        XW = torch.tensordot(X, self.weight, dims=([1], [1]))  # (N, out, in): sum over i
        return (XW * X.unsqueeze(1)).sum(dim=-1)
