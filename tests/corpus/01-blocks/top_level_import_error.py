# mistake: an import of a package the course does not ship; the rest still counts
# expect: full
# status: import error
# feedback: No module named 'd2l'
import d2l
