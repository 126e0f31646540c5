"""Body analysis: who is in the photo and where (keypoints, person, face, head and hands
masks), the body geometry every stage measures from (``frame``), the clothing the person
wears now (``clothing``) and the agnostic mask (``agnostic``)."""
