# mistake: init_xavier uses the normal variant
# expect: init_xavier=1
# feedback: use the uniform variant
# cause: xavier-normal
def init_xavier(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_normal_(m.weight)
