import glob, os, numpy as np, pandas as pd
tot=0; tv=0
for p in sorted(glob.glob('/work/shared/data/stocks/history/*.csv.gz')):
    d=pd.read_csv(p).dropna(); t=os.path.basename(p)[:-7]
    rec=d.Open>0
    a=(d.High<d.Low); b=(d.Close>d.High)|(d.Close<d.Low); c=rec&((d.Open>d.High)|(d.Open<d.Low))
    tot+=(a|b|c).sum()
    if (a|b|c).sum(): print(t, a.sum(), b.sum(), c.sum(), d.loc[a|b|c,'Date'].tolist()[:5])
    # high==low==close flat days (not recorded)?
    tv+= (d.High==d.Low).sum()
print('bad total',tot,'flat',tv)
