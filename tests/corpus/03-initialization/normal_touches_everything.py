# mistake: init_normal acts on every module with a weight, not only nn.Linear
# expect: init_normal=2
# feedback: it must act on nn.Linear only
def init_normal(m):
    if hasattr(m, "weight"):
        nn.init.normal_(m.weight, mean=0.0, std=0.01)
    if getattr(m, "bias", None) is not None:
        nn.init.zeros_(m.bias)
